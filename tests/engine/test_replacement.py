"""Age and block replacement against their closed forms (Barlow & Proschan).

One component type with Weibull lives (shape 3), repairs and replacements of
a few seconds, a crew per asset, no labour or downtime cost: the engine's
cost per asset-hour is then the renewal-reward cost rate of the classic
models, with c_f the failure's cost and c_p the preventive replacement's.
"""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from simengine.config import ConfigError, build
from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import run_replica
from simengine.units import HOURS_PER_YEAR

SHAPE, MEAN_H, C_P, C_F = 3.0, 1000.0, 1.0, 10.0
SCALE_H = MEAN_H / math.gamma(1.0 + 1.0 / SHAPE)
ASSETS, YEARS, REPLICAS = 20, 10.0, 6
QUICK = {"kind": "fixed", "mean": 1.0e-3}  # hours: negligible beside lives of ~1000 h


def survival(t):
    return np.exp(-(np.asarray(t) / SCALE_H) ** SHAPE)


def age_cost_rate(T: float) -> float:
    """C(T) = (c_p R(T) + c_f F(T)) / ∫_0^T R(t) dt: cost per unit time of replacement at age T."""
    return (C_P * survival(T) + C_F * (1.0 - survival(T))) / integrate.quad(survival, 0.0, T)[0]


def renewal_function(T: float, n: int = 3000) -> float:
    """M(T), expected failures in [0, T] of an ordinary renewal process: M = F + M * dF, solved on a grid
    by the trapezoidal Riemann–Stieltjes rule (second order; 1e-6 of the exponential's t/μ at n=3000)."""
    t = np.linspace(0.0, T, n + 1)
    F = 1.0 - survival(t)
    dF = np.diff(F)
    M = np.zeros(n + 1)
    for i in range(1, n + 1):
        j = np.arange(2, i + 1)
        rest = F[i] + 0.5 * np.dot(M[i - j] + M[i - j + 1], dF[j - 1]) + 0.5 * M[i - 1] * dF[0]
        M[i] = rest / (1.0 - 0.5 * dF[0])
    return float(M[-1])


def block_cost_rate(T: float) -> float:
    """C(T) = (c_p + c_f M(T)) / T: cost per unit time of replacing every unit at each multiple of T."""
    return (C_P + C_F * renewal_function(T)) / T


def replacement_scenario(kind: str, interval_h: float, assets: int = ASSETS, years: float = YEARS) -> dict:
    return {
        "name": "renewal", "horizon_years": years,
        "fleet": {"kind": "machine", "count": assets, "duty": {"kind": "none"},
                  "components": [{"name": "bearing", "life": {"kind": "weibull", "mean": MEAN_H, "shape": SHAPE},
                                  "repair": {"work": QUICK}, "failure_cost_eur": C_F}]},
        "crews": {"count": assets, "shifts": [[0, 24]], "travel_h": 0.0, "hourly_cost_eur": 0.0},
        "policy": {"kind": "corrective",
                   "replacement": {"kind": kind, "interval_h": interval_h, "work": QUICK, "cost_eur": C_P}},
        "outputs": {"record_assets": 0},
    }


def engine_cost_rate(kind: str, interval_h: float) -> tuple[float, float]:
    """Mean cost per asset-hour over the replicas, and the half-width of its 95 % t interval."""
    scenario = build(ScenarioConfig, replacement_scenario(kind, interval_h))
    rates = np.array([run_replica(scenario, seed=3, replica=r).kpis["total_cost_eur"] for r in range(REPLICAS)])
    rates /= ASSETS * YEARS * HOURS_PER_YEAR
    half = stats.t.ppf(0.975, REPLICAS - 1) * rates.std(ddof=1) / math.sqrt(REPLICAS)
    return float(rates.mean()), float(half)


def test_renewal_function_solver_against_the_exponential():
    # the solver is the test's own reference, so it is checked against M(t) = t / μ first
    global SCALE_H, SHAPE
    saved = SCALE_H, SHAPE
    SCALE_H, SHAPE = 100.0, 1.0
    try:
        assert renewal_function(250.0) == pytest.approx(2.5, rel=1e-5)
    finally:
        SCALE_H, SHAPE = saved


@pytest.mark.parametrize("interval_h", [300.0, 430.0, 900.0])
def test_age_replacement_cost_rate_is_the_closed_form(interval_h):
    # The finite horizon (~150 renewals per asset) biases the rate by well under 1 %: the check is the
    # 95 % interval widened by 1 % of the rate for it.
    mean, half = engine_cost_rate("age", interval_h)
    assert abs(mean - age_cost_rate(interval_h)) <= half + 0.01 * mean


@pytest.mark.parametrize("interval_h", [300.0, 900.0])
def test_block_replacement_cost_rate_is_the_closed_form(interval_h):
    mean, half = engine_cost_rate("block", interval_h)
    assert abs(mean - block_cost_rate(interval_h)) <= half + 0.01 * mean


def test_age_replacement_renews_the_component_and_counts_costs():
    # the events: a replacement is due at exactly the interval after the last renewal, unless a failure came first
    scenario = build(ScenarioConfig, replacement_scenario("age", 800.0, assets=1, years=4.0))
    r = run_replica(scenario, seed=1)
    events = r.events[np.isin(r.events["kind"], ["breakdown_fixed", "replaced", "breakdown", "replacement_due"])]
    renewed_at, due = 0.0, 0
    for e in events:
        if e["kind"] == "replacement_due":
            assert e["time_h"] == pytest.approx(renewed_at + 800.0, abs=1e-6)
            due += 1
        elif e["kind"] == "breakdown":
            assert e["time_h"] < renewed_at + 800.0
        else:
            renewed_at = e["time_h"]
    failures = int(r.kpis["failures"])
    assert due > 5 and failures > 5
    assert r.kpis["total_cost_eur"] == pytest.approx(C_F * failures + C_P * due)


def test_block_replacement_happens_on_the_calendar():
    scenario = build(ScenarioConfig, replacement_scenario("block", 700.0, assets=3, years=1.0))
    r = run_replica(scenario, seed=2)
    due = r.events[r.events["kind"] == "replacement_due"]
    times = np.unique(np.round(due["time_h"], 6))
    np.testing.assert_allclose(times, 700.0 * np.arange(1, times.size + 1))
    assert times.size == int(HOURS_PER_YEAR // 700.0)


def test_replacement_problems_name_field_value_and_rule():
    plain = replacement_scenario("age", 500.0)
    plain["policy"]["replacement"]["components"] = ["bearnig"]
    plain["policy"]["replacement"]["part"] = "kit"
    with pytest.raises(ConfigError) as err:
        build(ScenarioConfig, plain)
    text = str(err.value)
    assert "policy.replacement.components[0] = 'bearnig': unknown component; known: bearing" in text
    assert "policy.replacement.part = 'kit': unknown spare part" in text
    plain = replacement_scenario("age", 500.0)
    plain["fleet"]["components"][0]["life"] = {"kind": "exponential", "mean": 1000.0}
    with pytest.raises(ConfigError, match="no component of fleet.components wears out"):
        build(ScenarioConfig, plain)
