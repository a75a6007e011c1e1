"""Raw and feature fidelities agree in distribution: first alarm row, row features, edge volume.

Each asset carries one sensor and sees the same μ path, so n_assets sensors are
independent repetitions of one experiment. Seeds are fixed: the tests are
deterministic, and each shows it can fail by rejecting a slightly wrong model.
"""
import numpy as np
import pytest
from scipy import stats

from simengine.config.scenario import AlarmConfig, SensorConfig
from simengine.sensors import SensorBank
from simengine.sensors.features import FEATURE_KINDS, feature_sd


def sensor(**kw):
    base = dict(name="s", observes="vibration_rms", noise_sd=1.0, sample_rate_hz=0.01)  # 36 samples per 1 h row
    return SensorConfig(**{**base, **kw})


def first_alarm_rows(cfg, path, fidelity, seed, n_assets=3000):
    bank = SensorBank((cfg,), n_assets, 1.0, fidelity, np.random.default_rng(seed))
    report = bank.window({cfg.observes: np.repeat(path[:, None], n_assets, axis=1)}, 0.0)
    rows = np.full(n_assets, path.size)  # no alarm in the window
    rows[report.alarm_sensor] = report.alarm_row
    return rows, report


def chi2_same(a, b, min_count=20):
    """p-value of a chi-square test that two integer samples share one law (bins merged to ≥ min_count)."""
    values = np.union1d(a, b)
    ca = np.array([np.sum(a == v) for v in values])
    cb = np.array([np.sum(b == v) for v in values])
    bins, acc = [], np.zeros(2)
    for x, y in zip(ca, cb):
        acc += (x, y)
        if acc.sum() >= min_count:
            bins.append(acc.copy())
            acc[:] = 0
    if acc.sum():
        bins[-1] = bins[-1] + acc
    return stats.chi2_contingency(np.array(bins).T)[1]


RAMP_CASES = {
    "mean-above": (dict(feature="mean", quantisation=0.4, dropout=0.2, alarm=AlarmConfig(3.0)), np.linspace(2.0, 3.6, 48)),
    "mean-below": (dict(feature="mean", quantisation=0.4, dropout=0.2, alarm=AlarmConfig(1.0, "below")), np.linspace(2.0, 0.5, 48)),
    "rms-above": (dict(feature="rms", quantisation=0.4, dropout=0.2, alarm=AlarmConfig(2.5)), np.linspace(1.5, 2.8, 48)),
    "max-above": (dict(feature="max", quantisation=0.5, dropout=0.3, alarm=AlarmConfig(3.6)), np.linspace(0.0, 2.0, 48)),
    "max-below": (dict(feature="max", quantisation=0.5, dropout=0.3, alarm=AlarmConfig(2.6, "below")), np.linspace(2.5, 0.0, 48)),
    # rare exceedances (0.1 % to 2 % a row): decided by the global-envelope rounds, not row by row
    "mean-rare": (dict(feature="mean", quantisation=0.4, dropout=0.2, alarm=AlarmConfig(3.0)), np.linspace(2.42, 2.615, 48)),
    "rms-rare": (dict(feature="rms", quantisation=0.4, dropout=0.2, alarm=AlarmConfig(2.5)), np.linspace(1.68, 1.89, 48)),
    "max-rare": (dict(feature="max", quantisation=0.5, dropout=0.3, alarm=AlarmConfig(3.6)), np.linspace(-0.2, 0.6, 48)),
}


@pytest.mark.parametrize("name", RAMP_CASES)
def test_first_alarm_row_has_one_law_in_both_fidelities(name):
    kw, path = RAMP_CASES[name]
    cfg = sensor(bias_sd=0.05, drift_sd_per_h=0.001, stuck_rate_per_h=0.005, **kw)
    raw, raw_report = first_alarm_rows(cfg, path, "raw", seed=1)
    feat, feat_report = first_alarm_rows(cfg, path, "feature", seed=2)
    assert 0.15 < np.mean(raw < path.size) < 0.98  # some fire, not all (and some stick first)
    assert chi2_same(raw, feat) > 1e-3
    # the values that fired have one law too (the row's feature beyond the level)
    assert stats.ks_2samp(raw_report.alarm_value, feat_report.alarm_value).pvalue > 1e-3
    # and a model 20 % noisier is told apart
    noisy, _ = first_alarm_rows(sensor(bias_sd=0.05, drift_sd_per_h=0.001, stuck_rate_per_h=0.005, **{**kw, "noise_sd": 1.2}),
                                path, "feature", seed=3)
    assert chi2_same(raw, noisy) < 1e-3


@pytest.mark.parametrize("kind", FEATURE_KINDS)
def test_row_features_have_one_law_in_both_fidelities(kind):
    cfg = sensor(feature=kind, quantisation=0.5, dropout=0.2)
    obs = {"vibration_rms": np.full((4000, 1), 0.7)}
    raw = SensorBank((cfg,), 1, 1.0, "raw", np.random.default_rng(4)).features(obs, 0.0, np.array([0]))[:, 0]
    feat = SensorBank((cfg,), 1, 1.0, "feature", np.random.default_rng(5)).features(obs, 0.0, np.array([0]))[:, 0]
    assert stats.ks_2samp(raw, feat).pvalue > 1e-3
    off = SensorBank((sensor(feature=kind, quantisation=0.5, dropout=0.2, noise_sd=1.15),), 1, 1.0, "feature",
                     np.random.default_rng(6)).features(obs, 0.0, np.array([0]))[:, 0]
    assert stats.ks_2samp(raw, off).pvalue < 1e-3


def sent_per_row(cfg, fidelity, slope=0.0, n_windows=4, rows=168, n_assets=300):
    """Mean values sent per sensor-row over windows 2..n (the first transmission after install excluded)."""
    bank = SensorBank((cfg,), n_assets, 1.0, fidelity, np.random.default_rng(7))
    total = 0
    for w in range(n_windows):
        path = 2.0 + slope * (np.arange(rows) + w * rows)
        report = bank.window({"vibration_rms": np.repeat(path[:, None], n_assets, axis=1)}, w * rows * 1.0)
        assert report.raw_samples == 36 * rows * n_assets
        total += report.transmitted if w else 0
    return total / ((n_windows - 1) * rows * n_assets)


def test_deadband_zero_sends_every_row_in_both_fidelities():
    cfg = sensor(feature="mean", dropout=0.1)
    assert sent_per_row(cfg, "raw") == sent_per_row(cfg, "feature") == 1.0


def test_heartbeat_only_sends_once_per_heartbeat():
    cfg = sensor(feature="mean", deadband=1e9, heartbeat_h=24.0)
    assert sent_per_row(cfg, "raw") == pytest.approx(1 / 24, rel=1e-12)
    assert sent_per_row(cfg, "feature") == pytest.approx(1 / 24, rel=0.05)  # 300 units: the total's normal limit
    assert sent_per_row(cfg, "feature", n_assets=200) == pytest.approx(1 / 24, rel=0.05)  # 200: Binomial per unit


@pytest.mark.parametrize("kind", FEATURE_KINDS)
@pytest.mark.parametrize("rho, slope", [(1.0, 0.0), (2.5, 0.0), (2.0, 0.03)])
def test_moderate_deadband_volume_agrees_within_5_percent(kind, rho, slope):
    sd = float(feature_sd(FEATURE_KINDS.index(kind), 2.0, 1.0, 0.0, 36, 0.0))
    cfg = sensor(feature=kind, deadband=rho * sd, heartbeat_h=24.0)
    raw, feat = sent_per_row(cfg, "raw", slope), sent_per_row(cfg, "feature", slope)
    assert 1 / 24 < raw < 0.9
    assert feat == pytest.approx(raw, rel=0.05)


@pytest.mark.parametrize("kind, level, path", [
    ("rms", 1.009, np.linspace(1.0054, 1.0073, 24)),  # noncentrality ~1.4e6: Sankaran's approximation
    ("mean", 1.004, np.linspace(1.0016, 1.0035, 24)),
    ("max", 1.2, np.linspace(0.957, 1.013, 24)),
])
def test_first_alarm_row_follows_the_exact_first_passage_law_at_1_hz(kind, level, path):
    """3,600 samples a row: P(first = h) = p_h Π_{j<h} (1 − p_j), p_h from scipy.stats directly."""
    cfg = SensorConfig(name="s", observes="vibration_rms", noise_sd=0.05, feature=kind, alarm=AlarmConfig(level))
    rows, _ = first_alarm_rows(cfg, path, "feature", seed=8, n_assets=20_000)
    n = 3600
    if kind == "rms":
        p = stats.ncx2.sf(n * level**2 / 0.05**2, n, n * path**2 / 0.05**2)
    elif kind == "mean":
        p = stats.norm.sf(level, path, 0.05 / np.sqrt(n))
    else:
        p = -np.expm1(n * stats.norm.logcdf(level, path, 0.05))
    assert 0.001 < p[0] and p[-1] < 0.5
    law = np.append(p * np.concatenate([[1.0], np.cumprod(1 - p)[:-1]]), np.prod(1 - p))
    observed = np.bincount(rows, minlength=path.size + 1)
    assert stats.chisquare(observed, law * rows.size).pvalue > 1e-3
