"""The Y(a) Paris batch (quadrature, no stepping) against independent integrators: scipy's adaptive
quadrature for the cycles to failure and scipy's ODE solver for the crack at each record."""

import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from simengine.fatigue import paris_quadrature as pq
from simengine.fatigue.batch import (
    FAILED, INVALID, SURVIVED, ReplicaParams, reference_numpy_quadrature, run_constant_Y, run_variable_Y,
)
from simengine.fatigue.crack_growth import finite_width_edge_crack_Y

_EDGE = (30.39, -21.72, 10.55, -0.231, 1.12)  # Tada, Paris & Irwin, highest power first


def edge_Y(a, width_m):
    """The handbook polynomial in plain NumPy (independent of the package's JAX version)."""
    return np.polyval(_EDGE, np.asarray(a) / width_m)


def cycles_to_grow(a0, a1, C, m, Y, stress_range):
    """N = ∫ da / (C (Y(a) Δσ √(π a))^m), adaptive Gauss–Kronrod in a."""
    f = lambda a: 1.0 / (C * (Y(a) * stress_range * np.sqrt(np.pi * a)) ** m)  # noqa: E731
    return quad(f, a0, a1, epsrel=1e-13, epsabs=0.0, limit=400)[0]


def crack_by_ode(a0, drivers, C, m, Y):
    """a at cumulative drivers s (MPa^m): da/ds = C (Y(a) √(π a))^m by DOP853."""
    rhs = lambda s, y: C * (Y(y[0]) * np.sqrt(np.pi * y[0])) ** m  # noqa: E731
    return solve_ivp(rhs, (0.0, drivers[-1]), [a0], method="DOP853", t_eval=drivers, rtol=1e-13, atol=1e-20).y[0]


# a0 from 10 µm to 1 mm, m from 1.8 through exactly 2 to 4.5, a_crit/W up to 0.6 (the handbook's range)
CASES = [  # (a0, m, width, a_crit)
    (1e-5, 3.0, 0.06, 0.025), (3e-4, 2.0, 0.05, 0.03), (1e-3, 4.5, 0.04, 0.024), (2e-4, 1.8, 0.05, 0.03),
    (5e-5, 3.5, 0.06, 0.036), (6e-4, 2.6, 0.05, 0.02),
]
STRESS_MPa, C = 80.0, 1e-11


def batch_of(cases, cycles_per_block):
    a0, m, _, ac = (np.array([c[k] for c in cases]) for k in range(4))
    return ReplicaParams(paris_C=np.full(len(cases), C), paris_m=m, initial_flaw_m=a0, critical_m=ac,
                         driver_per_block=cycles_per_block * STRESS_MPa**m)


@pytest.mark.parametrize("case", CASES)
def test_cycles_to_failure_match_adaptive_quadrature(case):
    a0, m, width, ac = case
    life = cycles_to_grow(a0, ac, C, m, lambda a: edge_Y(a, width), STRESS_MPa)
    cycles_per_block = life / 37.3  # fails in block 37
    res = run_variable_Y(batch_of([case], cycles_per_block), np.ones(60), finite_width_edge_crack_Y, width, 10)
    assert int(res.status[0]) == FAILED
    assert float(res.failure_block[0]) * cycles_per_block == pytest.approx(life, rel=1e-10)


def test_recorded_crack_matches_the_ode_solver_under_a_varying_load():
    # one width for the batch (a static argument); several flaws, exponents and critical depths
    width = 0.05
    cases = [(a0, m, width, ac) for a0, m, _, ac in CASES]
    lives = np.array([cycles_to_grow(a0, ac, C, m, lambda a: edge_Y(a, width), STRESS_MPa) for a0, m, _, ac in cases])
    p = batch_of(cases, lives / 150.0)  # cycles per nominal block: each fails where the cumulative multiplier is 150
    mult = np.random.default_rng(4).gamma(4.0, 1 / 4.0, 240)
    res = run_variable_Y(p, mult, finite_width_edge_crack_Y, width, 7)
    cum = np.concatenate([[0.0], np.cumsum(mult)])
    rec = np.minimum(np.arange(1, -(-240 // 7) + 1) * 7, 240)
    for i, (a0, m, _, ac) in enumerate(cases):
        drivers = p.driver_per_block[i] * cum[rec]
        before = cum[rec] < 150.0
        want = crack_by_ode(a0, drivers[before], C, m, lambda a: edge_Y(a, width))
        got = np.asarray(res.crack_m)[i]
        np.testing.assert_allclose(got[before], want, rtol=1e-8)
        np.testing.assert_array_equal(got[~before], ac)
        # failure where the cumulative multiplier reaches 150, the fraction linear within the block
        n = np.searchsorted(cum, 150.0) - 1
        assert float(res.failure_block[i]) == pytest.approx(n + (150.0 - cum[n]) / mult[n], rel=1e-10)


def test_a_wide_strip_gives_the_constant_Y_closed_form():
    width = 1e10  # Y = 1.12 (1 - 7e-12) at most: the closed form with Y = 1.12 is exact to ~3e-11
    p = batch_of([(a0, m, width, ac) for a0, m, _, ac in CASES], 4.0e4)
    mult = np.random.default_rng(2).gamma(25.0, 1 / 25.0, 300)
    exact = run_constant_Y(p, mult, 1.12, 20)
    got = run_variable_Y(p, mult, finite_width_edge_crack_Y, width, 20)
    assert np.isfinite(np.asarray(exact.failure_block)).sum() >= 3
    np.testing.assert_allclose(np.asarray(got.failure_block), np.asarray(exact.failure_block), rtol=1e-9)
    np.testing.assert_allclose(np.asarray(got.crack_m), np.asarray(exact.crack_m), rtol=1e-9)


def test_numpy_baseline_runs_the_same_algorithm():
    width = 0.06
    p = batch_of([(a0, m, width, min(ac, 0.035)) for a0, m, _, ac in CASES], 3.0e4)
    mult = np.random.default_rng(3).gamma(25.0, 1 / 25.0, 400)
    res = run_variable_Y(p, mult, finite_width_edge_crack_Y, width, 25)
    fb, crack = reference_numpy_quadrature(p, mult, edge_Y, width, 25)
    np.testing.assert_allclose(np.asarray(res.failure_block), fb, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(res.crack_m), crack, rtol=1e-11)


def test_error_bound_holds_at_the_extremes_of_a_crit_over_a0():
    # a_crit/a0 = 6·10^4 (the widest panels): the Clenshaw–Curtis bound still leaves 1e-9 relative
    C_, width = 2e-11, 0.05
    a0, ac = np.array([5e-7, 5e-7]), np.array([0.03, 0.03])
    m = np.array([2.2, 4.0])
    table = pq.driver_table(np, np.full(2, C_), m, a0, ac, edge_Y, width)
    for i in range(2):
        want = cycles_to_grow(a0[i], ac[i], C_, m[i], lambda a: edge_Y(a, width), 1.0)
        assert pq.driver_to_fail(table)[i] == pytest.approx(want, rel=1e-9)


def test_statuses_per_replica_with_Y_of_a_never_fail_the_batch():
    bad = ReplicaParams(paris_C=np.array([1.65e-11, -1.0, np.nan, 1.65e-11]), paris_m=np.full(4, 3.0),
                        initial_flaw_m=np.array([3e-4, 3e-4, 3e-4, 0.03]), critical_m=np.full(4, 0.025),
                        driver_per_block=np.array([0.0, 4e9, 4e9, 4e9]))
    res = run_variable_Y(bad, np.ones(100), finite_width_edge_crack_Y, 0.06, 10)
    assert np.asarray(res.status).tolist() == [SURVIVED, INVALID, INVALID, INVALID]
    assert np.isinf(float(res.failure_block[0])) and np.isnan(np.asarray(res.failure_block)[1:]).all()
    np.testing.assert_allclose(np.asarray(res.crack_m)[0], 3e-4, rtol=1e-15)  # no load: the flaw stays as it is
    assert np.isnan(np.asarray(res.crack_m)[1:]).all()
