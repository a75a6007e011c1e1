"""Physics against closed forms and independent integrators (scipy)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import quad, solve_ivp

from simengine import physics as ph

C, M, Y = 1.65e-11, 3.0, 1.12


def _quad_life(a0, ac, ds, C, m, Y):
    """Cycles to grow a0 -> ac by direct numerical integration of dN = da / (C ΔK^m)."""
    return quad(lambda a: 1.0 / (C * (Y * ds * np.sqrt(np.pi * a)) ** m), a0, ac, limit=200)[0]


@pytest.mark.parametrize("m", [2.0, 3.0, 3.5])
def test_paris_life_matches_numerical_integral(m):
    a0, ac, ds = 3e-4, 0.025, 80.0
    expected = _quad_life(a0, ac, ds, C, m, Y)
    got = float(ph.paris_life_cycles(a0, ac, ds, C, m, Y))
    assert got == pytest.approx(expected, rel=1e-9)


def test_paris_block_equals_cycle_by_cycle_ode():
    a0, ds, n = 3e-4, 120.0, 3.0e5
    sol = solve_ivp(lambda N, a: C * (Y * ds * np.sqrt(np.pi * a)) ** M, (0, n), [a0], rtol=1e-11, atol=1e-14)
    got = float(ph.paris_block(jnp.asarray(a0), n * ds**M, C, M, Y))
    assert got == pytest.approx(sol.y[0, -1], rel=1e-8)


def test_paris_blocks_compose_exactly():
    driver = 3.0e11
    one = ph.paris_block(jnp.asarray(2e-4), driver, C, M, Y)
    many = jnp.asarray(2e-4)
    for _ in range(1000):
        many = ph.paris_block(many, driver / 1000, C, M, Y)
    assert float(many) == pytest.approx(float(one), rel=1e-11)


def test_paris_unstable_block_is_infinite():
    driver = float(ph.paris_driver_to_grow(3e-4, 1e3, C, M, Y)) * 10
    assert np.isinf(float(ph.paris_block(jnp.asarray(3e-4), driver, C, M, Y)))


@pytest.mark.parametrize("m", [2.0, 3.0])
def test_crossing_fraction_is_exact(m):
    a0, driver, ac = 5e-3, 4e11, 0.0
    a1 = float(ph.paris_block(jnp.asarray(a0), driver, C, m, Y))
    ac = 0.5 * (a0 + a1)
    f = float(ph.crossing_fraction(a0, a1, ac, m))
    assert float(ph.paris_block(jnp.asarray(a0), f * driver, C, m, Y)) == pytest.approx(ac, rel=1e-10)


def test_crossing_fraction_with_unstable_end():
    a0 = 0.02
    f = float(ph.crossing_fraction(a0, jnp.inf, 0.025, M))
    driver_to_inf = float(ph.paris_driver_to_grow(a0, 1e12, C, M, Y))
    driver_to_crit = float(ph.paris_driver_to_grow(a0, 0.025, C, M, Y))
    assert f == pytest.approx(driver_to_crit / driver_to_inf, rel=1e-5)


def test_sn_curve_reference_points_and_continuity():
    curve = ph.SNCurve(detail_category_MPa=71.0)
    assert float(ph.cycles_to_failure(curve, 71.0)) == pytest.approx(2e6, rel=1e-12)
    knee = float(curve.knee_stress_MPa)
    assert knee == pytest.approx(71.0 * 0.4 ** (1 / 3), rel=1e-12)  # EN 1993-1-9: Δσ_D = 0.737 Δσ_C
    assert float(ph.cycles_to_failure(curve, knee)) == pytest.approx(5e6, rel=1e-12)
    below = float(ph.cycles_to_failure(curve, knee / 2))
    assert below == pytest.approx(5e6 * 2**5, rel=1e-12)
    assert np.isinf(float(ph.cycles_to_failure(curve, 0.0)))


def test_miner_constant_amplitude_and_mixed_spectrum():
    curve = ph.SNCurve(detail_category_MPa=80.0)
    n100 = 2e6 * (80.0 / 100.0) ** 3
    assert float(ph.miner_damage(curve, jnp.array([100.0]), jnp.array([n100]))) == pytest.approx(1.0, rel=1e-12)
    ranges = jnp.array([150.0, 100.0, 40.0])
    counts = jnp.array([1e4, 2e5, 3e6])
    knee = 80.0 * 0.4 ** (1 / 3)
    expected = 1e4 / (2e6 * (80 / 150) ** 3) + 2e5 / (2e6 * (80 / 100) ** 3) + 3e6 / (5e6 * (knee / 40) ** 5)
    assert float(ph.miner_damage(curve, ranges, counts)) == pytest.approx(expected, rel=1e-12)


def test_thermal_step_response_matches_closed_form_and_ode():
    tau, R, P, amb, T0 = 1800.0, 0.02, 3000.0, 20.0, 20.0
    T = jnp.asarray(T0)
    times = np.arange(1, 25) * 600.0
    got = []
    for _ in times:
        T = ph.thermal_step(T, P, amb, 600.0, tau, R)
        got.append(float(T))
    closed = amb + R * P * (1 - np.exp(-times / tau))
    np.testing.assert_allclose(got, closed, rtol=1e-12)
    sol = solve_ivp(lambda t, y: (amb + R * P - y) / tau, (0, times[-1]), [T0], t_eval=times, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(got, sol.y[0], rtol=1e-7)


def test_vibration_crack_lowers_frequency_and_raises_rms():
    k = ph.stiffness_ratio(jnp.array([0.0, 0.01, 0.02]), 0.04, 0.8)
    np.testing.assert_allclose(k, [1.0, 1 - 0.8 / 16, 1 - 0.8 / 4])
    f = ph.natural_frequency_hz(2.0, k)
    rms = ph.vibration_rms(0.5, k, 1.0)
    assert np.all(np.diff(f) < 0) and np.all(np.diff(rms) > 0)


def _fleet(n=5, seed=0):
    rng = np.random.default_rng(seed)
    params = ph.AssetParams(
        paris_C=jnp.asarray(C * rng.uniform(0.5, 2, n)), paris_m=jnp.full(n, M), geometry_Y=jnp.full(n, Y),
        section_depth_m=jnp.full(n, 0.04), stiffness_sensitivity=jnp.full(n, 0.8),
        natural_frequency_hz=jnp.full(n, 2.0), vibration_rms0=jnp.full(n, 0.5), wear_vibration_gain=jnp.full(n, 2.0),
        thermal_tau_s=jnp.full(n, 1800.0), thermal_resistance_K_per_W=jnp.full(n, 0.02),
        wear_rate_per_s=jnp.full(n, 1e-9), wear_reference_C=jnp.full(n, 60.0), wear_doubling_K=jnp.full(n, 10.0),
    )
    state = ph.init(jnp.asarray(rng.uniform(1e-4, 5e-4, n)), 20.0)
    W = 24
    inputs = ph.AssetInputs(
        paris_driver=jnp.asarray(rng.uniform(0, 1e9, (W, n))), miner_increment=jnp.asarray(rng.uniform(0, 1e-4, (W, n))),
        heat_W=jnp.asarray(rng.uniform(0, 4000, (W, n))), ambient_C=jnp.full((W, n), 15.0),
        load_factor=jnp.asarray(rng.uniform(0, 1, (W, n))),
    )
    return params, state, inputs


def test_advance_jit_vmap_equals_plain_python_loop():
    params, state, inputs = _fleet()
    W, n = inputs.heat_W.shape
    end, states, obs = ph.advance(params, state, inputs, jnp.ones((W, n), bool), 3600.0)
    for i in range(n):
        p_i = jax.tree_util.tree_map(lambda x: x[i], params)
        s_i = jax.tree_util.tree_map(lambda x: x[i], state)
        for t in range(W):
            inp = jax.tree_util.tree_map(lambda x: x[t, i], inputs)
            s_i = ph.step(p_i, s_i, inp, 3600.0)
            o_i = ph.observe(p_i, s_i, inp)
            assert float(states.crack_m[t, i]) == pytest.approx(float(s_i.crack_m), rel=1e-13)
            assert float(obs.vibration_rms[t, i]) == pytest.approx(float(o_i.vibration_rms), rel=1e-13)
        assert float(end.temp_C[i]) == pytest.approx(float(s_i.temp_C), rel=1e-13)
        assert float(end.wear[i]) == pytest.approx(float(s_i.wear), rel=1e-13)


def test_advance_padded_intervals_leave_state_unchanged():
    params, state, inputs = _fleet()
    W = inputs.heat_W.shape[0]
    valid = jnp.broadcast_to((jnp.arange(W) < 10)[:, None], inputs.heat_W.shape)
    end_padded, _, _ = ph.advance(params, state, inputs, valid, 3600.0)
    short = jax.tree_util.tree_map(lambda x: x[:10], inputs)
    end_short, _, _ = ph.advance(params, state, short, jnp.ones((10, inputs.heat_W.shape[1]), bool), 3600.0)
    np.testing.assert_array_equal(end_padded.crack_m, end_short.crack_m)
    np.testing.assert_array_equal(end_padded.temp_C, end_short.temp_C)


def _exact_integral(a0, a1, m):
    """∫ a^(-m/2) da from a0 to a1 in 60-digit decimal arithmetic (the textbook form, no cancellation left)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        p, lo, hi = 1 - Decimal(m) / 2, Decimal(a0).ln(), Decimal(a1).ln()
        return float(hi - lo) if p == 0 else float(((p * hi).exp() - (p * lo).exp()) / p)


def _exact_inverse(a0, x, m):
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        p, A0, X = 1 - Decimal(m) / 2, Decimal(a0), Decimal(x)
        return float(A0 * X.exp()) if p == 0 else float((((p * A0.ln()).exp() + p * X).ln() / p).exp())


@pytest.mark.parametrize("m", [2.0, 2.0 + 1e-12, 2.0 - 1e-12, 2.0 + 1e-7, 2.0 - 1e-4, 1.5, 3.0, 6.0])
def test_paris_integral_and_block_exact_near_m_2(m):
    a0, ac = 3e-4, 0.025
    exact = _exact_integral(a0, ac, m)
    k = float(ph.crack._growth_constant(C, m, Y))
    assert float(ph.paris_driver_to_grow(a0, ac, C, m, Y)) * k == pytest.approx(exact, rel=1e-13)
    driver = 0.5 * exact / k
    assert float(ph.paris_block(jnp.asarray(a0), driver, C, m, Y)) == pytest.approx(
        _exact_inverse(a0, 0.5 * exact, m), rel=1e-13)


def test_paris_block_gradient_in_m_is_finite_and_continuous_at_m_2():
    grad = jax.jit(jax.grad(ph.paris_block, argnums=3))
    at, near = float(grad(3e-4, 1e9, C, 2.0, Y)), float(grad(3e-4, 1e9, C, 2.0 + 1e-7, Y))
    assert np.isfinite(at) and at == pytest.approx(near, rel=1e-5)
    many = jax.vmap(lambda m: ph.paris_block(3e-4, 1e9, C, m, Y))(jnp.array([1.9, 2.0, 2.1]))
    assert np.all(np.isfinite(np.asarray(many)))
