"""Row-feature laws: exceedance probabilities against closed forms and Monte Carlo of raw samples."""
import numpy as np
import pytest
from scipy import stats

from simengine.sensors import draw_exceeding, draw_features, exceedance, max_level, reduce_rows, sample_rows
from simengine.sensors.features import MAX, MEAN, RMS, _chernoff_ncx2, effective_sigma, feature_sd, quantise


def raw_features(kind, mu, sd, q, d, n, reps, seed):
    """Monte Carlo: `reps` row features computed from raw samples at a fixed μ."""
    x, _ = sample_rows(np.full((reps, 1), mu), sd, q, d, n, np.random.default_rng(seed))
    return reduce_rows(x, kind)[:, 0]


@pytest.mark.parametrize("above", [True, False])
def test_mean_exceedance_is_the_normal_tail(above):
    mu, level, sd, n, d = np.linspace(-1, 3, 9), 1.2, 0.8, 50, 0.2
    p, log_q = exceedance(MEAN, above, mu, level, sd, n, d)
    law = stats.norm(mu, sd / np.sqrt(n * (1 - d)))
    np.testing.assert_allclose(p, law.sf(level) if above else law.cdf(level), rtol=1e-12)
    np.testing.assert_allclose(log_q, law.logcdf(level) if above else law.logsf(level), rtol=1e-9)


def test_max_exceedance_closed_form_without_dropout():
    mu, level, sd, n = np.array([0.0, 0.5, 1.0]), 1.5, 0.4, 20
    p, _ = exceedance(MAX, True, mu, level, sd, n, 0.0)
    np.testing.assert_allclose(p, 1 - stats.norm.cdf(level, mu, sd) ** n, rtol=1e-12)
    p, _ = exceedance(MAX, False, mu, level, sd, n, 0.0)
    np.testing.assert_allclose(p, stats.norm.cdf(level, mu, sd) ** n, rtol=1e-12)


def test_rms_exceedance_is_the_noncentral_chi2_tail():
    mu, level, sd, n = np.array([0.0, 0.5, 1.0]), 0.9, 0.5, 30
    p, _ = exceedance(RMS, True, mu, level, sd, n, 0.0)
    np.testing.assert_allclose(p, stats.ncx2.sf(n * level**2 / sd**2, n, n * mu**2 / sd**2), rtol=1e-12)


def test_tiny_probabilities_keep_their_precision():
    p, log_q = exceedance(MEAN, True, 0.0, 30.0, 1.0, 1, 0.0)
    assert p == pytest.approx(stats.norm.sf(30.0), rel=1e-10) and log_q == pytest.approx(-p, rel=1e-6)
    p, _ = exceedance(MAX, True, 0.0, 12.0, 1.0, 3600, 0.1)
    assert p == pytest.approx(3600 * 0.9 * stats.norm.sf(12.0), rel=1e-9)
    p, _ = exceedance(RMS, True, 1.0, 1.5, 0.1, 3600, 0.0)
    assert 0.0 <= p < 1e-300 or p == pytest.approx(stats.ncx2.sf(3600 * 225, 3600, 360000), rel=1e-6)


# (kind, above, mu, level, noise sd, quantisation, dropout, n)
CASES = [
    (MEAN, True, 1.0, 1.1, 0.5, 0.2, 0.1, 36),
    (MEAN, False, 1.0, 0.9, 0.5, 0.2, 0.1, 36),
    (MAX, True, 0.0, 2.0, 1.0, 0.25, 0.3, 36),
    (MAX, False, 0.0, 2.0, 1.0, 0.25, 0.3, 36),
    (RMS, True, 0.8, 1.3, 1.0, 0.0, 0.0, 36),
    (RMS, False, 0.8, 1.1, 1.0, 0.3, 0.1, 36),
]


@pytest.mark.parametrize("case", CASES)
def test_exceedance_matches_monte_carlo_of_raw_samples(case):
    kind, above, mu, level, sd, q, d, n = case
    sigma = sd if kind == MAX else float(effective_sigma(sd, q))
    eff_level = float(max_level(level, q, above)) if kind == MAX else level
    p, _ = exceedance(kind, above, mu, eff_level, sigma, n, d)
    f = raw_features(kind, mu, sd, q, d, n, 200_000, seed=kind * 2 + above)
    hits = np.mean(f > level if above else f < level)
    assert 0.01 < p < 0.99
    assert abs(hits - p) < 4.5 * np.sqrt(p * (1 - p) / f.size), (hits, p)


def test_max_quantisation_is_exact_even_when_coarse():
    # q = 2 σ: Sheppard would be poor, the max uses the exact level shift
    p, _ = exceedance(MAX, True, 0.0, float(max_level(1.7, 2.0, True)), 1.0, 10, 0.0)
    f = raw_features(MAX, 0.0, 1.0, 2.0, 0.0, 10, 200_000, seed=5)
    assert abs(np.mean(f > 1.7) - p) < 4.5 * np.sqrt(p * (1 - p) / f.size)


@pytest.mark.parametrize("above", [True, False])
def test_chernoff_bound_bounds_the_rms_tail(above):
    df, nc = 30.0, np.array([0.0, 5.0, 30.0, 120.0])
    x = np.linspace(1.0, 300.0, 50)[:, None]
    exact = stats.ncx2.sf(x, df, nc) if above else stats.ncx2.cdf(x, df, nc)
    assert np.all(_chernoff_ncx2(x, df, nc, above) >= exact * (1 - 1e-9))


@pytest.mark.parametrize("case", CASES)
def test_fired_value_has_the_conditional_law(case):
    kind, above, mu, level, sd, q, d, n = case
    sigma = sd if kind == MAX else float(effective_sigma(sd, q))
    eff_level = float(max_level(level, q, above)) if kind == MAX else level
    p, _ = exceedance(kind, above, mu, eff_level, sigma, n, d)
    rng = np.random.default_rng(11)
    drawn = draw_exceeding(kind, above, np.full(4000, mu), eff_level, sigma, n, d, p, rng.random(4000))
    if kind == MAX:
        drawn = quantise(drawn, q)
    pool = draw_features(kind, np.full((400_000, 1), mu), sd, q, n, d, rng)[:, 0]
    pool = pool[pool > level] if above else pool[pool < level]
    assert np.all(drawn > level) if above else np.all(drawn < level)
    assert stats.ks_2samp(drawn, pool).pvalue > 1e-3


def test_feature_sd_matches_sampling():
    rng = np.random.default_rng(2)
    for kind in (MEAN, RMS, MAX):
        f = draw_features(kind, np.full((20000, 1), 1.0), 0.5, 0.0, 40, 0.0, rng)[:, 0]
        assert float(feature_sd(kind, 1.0, 0.5, 0.0, 40, 0.0)) == pytest.approx(f.std(), rel=0.03)


def test_sankaran_tail_is_close_to_scipy_where_it_takes_over():
    from simengine.sensors.features import NC_SANKARAN, ncx2_tail, ncx2_tail_inverse

    for df in (36.0, 3600.0):
        for nc in (NC_SANKARAN * 1.01, 1e5, 1e6):
            for target in (0.5, 1e-3, 1e-8, 1e-12):
                x = stats.ncx2.isf(target, df, nc)
                assert ncx2_tail(x, df, nc, True) == pytest.approx(target, rel=2e-3)
                assert ncx2_tail_inverse(target, df, nc, True) == pytest.approx(x, rel=1e-5)
                x = stats.ncx2.ppf(target, df, nc)
                assert ncx2_tail(x, df, nc, False) == pytest.approx(target, rel=2e-3)
