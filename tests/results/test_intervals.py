"""Confidence intervals that respect each KPI's range, checked against independent computations and coverage."""

import math

import numpy as np
import pytest
from scipy import optimize, stats

from simengine.engine.kpis import KPIS
from simengine.results import KpiSpec, format_table, summarize
from simengine.results import intervals


def garwood_by_root_finding(total: int, n: int) -> tuple[float, float]:
    """The exact Poisson interval from its definition: the means at which the tails hold 2.5 %."""
    low = 0.0 if total == 0 else optimize.brentq(lambda mu: stats.poisson.sf(total - 1, mu) - 0.025, 1e-12, 10 * total + 10)
    high = optimize.brentq(lambda mu: stats.poisson.cdf(total, mu) - 0.025, 1e-12, 10 * total + 50)
    return low / n, high / n


@pytest.mark.parametrize(("total", "n"), [(0, 8), (1, 1), (3, 8), (50, 20), (6347, 8)])
def test_poisson_interval_matches_its_definition(total, n):
    assert intervals.poisson_exact(total, n) == pytest.approx(garwood_by_root_finding(total, n), rel=1e-7, abs=1e-12)


def test_poisson_interval_covers_at_least_95_percent():
    n = 8
    for mu in (0.05, 0.3, 2.0, 40.0):
        # Exact coverage: the sum of P(T = t) over the totals whose interval holds mu.
        totals = np.arange(int(stats.poisson.ppf(1 - 1e-12, n * mu)) + 2)
        holds = [lo <= mu <= hi for lo, hi in (intervals.poisson_exact(int(t), n) for t in totals)]
        coverage = float(stats.poisson.pmf(totals, n * mu)[holds].sum())
        assert 0.95 <= coverage <= 0.999, (mu, coverage)
    rng = np.random.default_rng(1)
    draws = rng.poisson(2.0, size=(2000, n))
    covered = [lo <= 2.0 <= hi for lo, hi in (intervals.poisson_exact(int(d.sum()), n) for d in draws)]
    assert np.mean(covered) >= 0.94  # 2000 draws: three binomial sd under 95 %


def test_overdispersed_counts_leave_the_poisson_interval():
    rng = np.random.default_rng(2)
    spec = {"k": KpiSpec("count", "count")}
    poisson = summarize({"k": rng.poisson(500.0, 8).astype(float)}, spec)["k"]
    scattered = rng.negative_binomial(5, 5 / 505, 8).astype(float)  # mean 500, sd about 225
    wide = summarize({"k": scattered}, spec)["k"]
    assert poisson["ci_method"] == intervals.POISSON
    assert wide["ci_method"] == intervals.T_IN_RANGE + intervals.OVERDISPERSED
    # The Poisson interval's half-width (about 16) would pretend a hundred-fold precision.
    assert wide["ci95_high"] - wide["ci95_low"] > 100


def test_bootstrap_covers_a_skewed_mean():
    rng = np.random.default_rng(3)
    shape, scale, n = 2.0, 1000.0, 30
    hits = []
    for _ in range(200):
        lo, hi = intervals.bootstrap_mean(rng.gamma(shape, scale, n), 0.0)
        hits.append(lo <= shape * scale <= hi)
    # 200 draws: the binomial sd of the coverage is 1.5 %, so 95 % nominal lands within 0.90-0.99.
    assert 0.90 <= np.mean(hits) <= 0.99


def test_few_replicas_get_the_t_interval_within_range_because_the_bootstrap_is_too_narrow():
    rng = np.random.default_rng(4)
    spec = {"cost": KpiSpec("continuous", "EUR")}
    t_hits = boot_hits = 0
    for _ in range(300):
        x = rng.gamma(2.0, 1000.0, 5)
        s = summarize({"cost": x}, spec)["cost"]
        assert s["ci_method"] == intervals.T_IN_RANGE and s["ci95_low"] >= 0.0
        t_hits += s["ci95_low"] <= 2000.0 <= s["ci95_high"]
        lo, hi = intervals.bootstrap_mean(x, 0.0)
        boot_hits += lo <= 2000.0 <= hi
    # 300 draws, binomial sd about 1.5 %: t holds about 0.90, the bootstrap about 0.80 of the time.
    assert t_hits / 300 >= 0.86 and boot_hits / 300 <= 0.86
    assert summarize({"cost": rng.gamma(2.0, 1000.0, 30)}, spec)["cost"]["ci_method"] == intervals.BOOTSTRAP


def test_bootstrap_is_deterministic_and_within_the_range():
    x = np.array([1.0, 0.999, 0.97, 1.0])
    assert intervals.bootstrap_mean(x, 0.0, 1.0) == intervals.bootstrap_mean(x, 0.0, 1.0)
    lo, hi = intervals.bootstrap_mean(x, 0.0, 1.0)
    assert 0.97 <= lo <= hi <= 1.0


def default_run_kpis() -> dict[str, np.ndarray]:
    """The default `simengine run` KPIs of the old table's worst rows (seed 0, 8 replicas)."""
    return {
        "availability": np.array([1.0, 0.999, 1.0, 0.97]),
        "structural_failures": np.array([0, 0, 0, 0, 0, 0, 1, 2], dtype=float),
        "failure_cost_eur": np.array([0, 0, 0, 0, 0, 0, 0, 36e6]),
        "no_fault_found": np.array([0, 0, 0, 0, 0, 0, 2, 3], dtype=float),
        "crew_utilisation": np.array([0.011, 0.010, 0.0135, 0.0104]),
    }


def test_intervals_stay_within_each_kpis_range():
    summary = summarize(default_run_kpis(), KPIS)
    for name, s in summary.items():
        spec = KPIS[name]
        assert spec.low <= s["ci95_low"] <= s["mean"] <= s["ci95_high"] <= spec.high, (name, s)
    assert summary["structural_failures"]["ci_method"] == intervals.POISSON
    assert summary["availability"]["ci_method"] == intervals.T_IN_RANGE
    assert summary["availability"]["ci95_high"] == 1.0  # the t interval alone reaches 1.014


def test_one_replica_says_so():
    summary = summarize({k: v[:1] for k, v in default_run_kpis().items()}, KPIS)
    assert all(math.isnan(s["ci95_low"]) and s["ci_method"] == "1 replica: no interval" for s in summary.values())
    assert "1 replica: no interval" in format_table(summary) and "nan" not in format_table(summary)


def test_a_value_outside_its_range_is_an_error_not_an_interval():
    with pytest.raises(ValueError, match=r"kpis\['availability'\] has 1 value\(s\) outside its range \[0.0, 1.0\]"):
        summarize({"availability": np.array([0.9, 1.2])}, KPIS)
    with pytest.raises(ValueError, match="is a count but holds non-integer values"):
        summarize({"failures": np.array([1.0, 2.5])}, KPIS)


def test_every_kpi_of_a_replica_is_in_the_catalogue():
    from simengine.api import load_scenario
    from simengine.engine.simulation import run_replica

    kpis = run_replica(load_scenario("crane_fleet", {"fleet.count": 2, "horizon_years": 0.2}), 0, 0).kpis
    assert list(kpis) == list(KPIS)


def test_a_kpi_some_replicas_lack_says_over_how_many_it_is_averaged():
    kpis = {"availability": np.array([0.99, 0.98, 0.97, 0.99]),
            "detection_lead_time_h": np.array([100.0, np.nan, 300.0, np.nan])}
    lines = format_table(summarize(kpis, KPIS)).splitlines()
    assert lines[2].endswith(intervals.T_IN_RANGE)
    assert lines[3].endswith(f"{intervals.T_IN_RANGE}; 2 of 4 replicas")


def test_many_replicas_get_the_t_interval_which_agrees_with_the_bootstrap():
    # Past BOOTSTRAP_MAX_N the BCa jackknife costs n² (minutes per KPI at 100,000 replicas); the t interval is
    # then as good: on 12,000 skewed values it agrees with scipy's BCa bootstrap to a few % of its half-width.
    x = np.random.default_rng(5).gamma(2.0, 1000.0, 12_000)
    got = summarize({"total_cost_eur": x}, KPIS)["total_cost_eur"]
    assert got["ci_method"] == intervals.T_LARGE_N
    bca = stats.bootstrap((x,), np.mean, n_resamples=2000, method="BCa", vectorized=True, batch=100,
                          rng=np.random.default_rng(6)).confidence_interval
    half = (bca.high - bca.low) / 2
    assert got["ci95_low"] == pytest.approx(bca.low, abs=0.08 * half)
    assert got["ci95_high"] == pytest.approx(bca.high, abs=0.08 * half)
    assert summarize({"total_cost_eur": x[:5000]}, KPIS)["total_cost_eur"]["ci_method"] == intervals.BOOTSTRAP
