"""Block stepping of Paris growth against cycle-by-cycle integration (scipy), and its error bound."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from simengine.fatigue.crack_growth import (
    ConstantY, EdgeCrack, block_driver, block_enclosure, block_step, finite_width_edge_crack_Y, grow_blocks,
    grow_blocks_bounded, predictor_corrector_block,
)

C, M, W = 1.5e-9, 3.0, 0.04


def cycle_by_cycle(a0, ranges, counts, C, m, Y):
    """Integrate da/dN = C (Y(a) Δσ sqrt(π a))^m one cycle at a time (a half cycle spans N in [0, 1/2])."""
    a = a0
    for ds, n in zip(ranges, counts):
        rhs = lambda N, y, ds=ds: C * (Y(y[0]) * ds * np.sqrt(np.pi * y[0])) ** m  # noqa: E731
        a = solve_ivp(rhs, (0.0, n), [a], method="DOP853", rtol=1e-13, atol=1e-20).y[0, -1]
    return a


def by_driver(a0, driver, C, m, Y):
    """Integrate the autonomous form da/ds = C (Y(a) sqrt(π a))^m over the cumulative driver s."""
    rhs = lambda s, y: C * (Y(y[0]) * np.sqrt(np.pi * y[0])) ** m  # noqa: E731
    return solve_ivp(rhs, (0.0, driver), [a0], method="DOP853", rtol=1e-13, atol=1e-20).y[0, -1]


def load_blocks(n_blocks=5, per_block=40, seed=7):
    rng = np.random.default_rng(seed)
    ranges = rng.uniform(40.0, 220.0, (n_blocks, per_block))
    counts = np.where(rng.random((n_blocks, per_block)) < 0.2, 0.5, 1.0)
    return ranges, counts


def edge_Y(a):
    return float(finite_width_edge_crack_Y(a, W))


def test_block_driver_by_hand():
    assert float(block_driver([100.0, 50.0], [2.0, 0.5], 3.0)) == pytest.approx(2 * 1e6 + 0.5 * 125e3, rel=1e-15)
    np.testing.assert_allclose(block_driver([[1.0, 2.0], [3.0, 0.0]], [[1.0, 1.0], [1.0, 4.0]], 2.0), [5.0, 9.0])


def test_constant_Y_block_stepping_equals_cycle_by_cycle():
    ranges, counts = load_blocks()
    a0, Y = 2.0e-3, 1.12
    c = 4.0e-9  # grows the crack 2 -> 5.7 mm in 200 cycles
    path = np.asarray(grow_blocks(a0, block_driver(ranges, counts, M), c, M, Y))
    a = a0
    for k in range(len(ranges)):
        a = cycle_by_cycle(a, ranges[k], counts[k], c, M, lambda _: Y)
        assert path[k] == pytest.approx(a, rel=1e-9)
        a = path[k]
    assert path[-1] > 2.5 * a0


def test_variable_Y_reference_does_not_depend_on_cycle_order():
    # Block end depends only on the driver, even with Y(a): cycles in any order = integration over s.
    ranges, counts = load_blocks(1, 60)
    a0 = 6e-3
    forward = cycle_by_cycle(a0, ranges[0], counts[0], C, M, edge_Y)
    order = np.argsort(ranges[0])
    backward = cycle_by_cycle(a0, ranges[0][order], counts[0][order], C, M, edge_Y)
    over_s = by_driver(a0, float(block_driver(ranges[0], counts[0], M)), C, M, edge_Y)
    assert forward == pytest.approx(over_s, rel=1e-9) and backward == pytest.approx(over_s, rel=1e-9)


def test_variable_Y_blocks_stay_inside_the_enclosure_of_cycle_by_cycle():
    ranges, counts = load_blocks(6, 40)
    a0, c = 6e-3, 5e-10  # 6 -> 9 mm in 240 cycles, Y from 1.45 to 1.75
    path = grow_blocks_bounded(a0, block_driver(ranges, counts, M), c, M, EdgeCrack(W))
    a = a0
    for k in range(len(ranges)):
        a = cycle_by_cycle(a, ranges[k], counts[k], c, M, edge_Y)
        lo, est, hi = (float(x[k]) for x in (path.lower_m, path.crack_m, path.upper_m))
        assert lo * (1 - 1e-11) <= a <= hi * (1 + 1e-11)
        assert lo * (1 - 1e-11) <= est <= hi * (1 + 1e-11)
        assert abs(est - a) < 1e-2 * (hi - lo)  # the estimate is far tighter than the bound
    assert float(path.crack_m[-1]) > 1.4 * a0


def test_predictor_corrector_is_second_order_and_enclosure_first_order():
    a0, total = 5e-3, 4.0e8  # grows 5 -> 9.5 mm in W = 40 mm: Y goes 1.35 -> 1.75
    exact = by_driver(a0, total, C, M, edge_Y)
    errors, widths = [], []
    for n in (8, 16, 32, 64, 128):
        path = grow_blocks_bounded(a0, jnp.full(n, total / n), C, M, EdgeCrack(W))
        lo, est, hi = (float(x[-1]) for x in (path.lower_m, path.crack_m, path.upper_m))
        assert lo <= exact <= hi
        errors.append(abs(est - exact))
        widths.append(hi - lo)
    order = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all((order > 1.8) & (order < 2.2)), order
    width_order = np.log2(np.array(widths[:-1]) / widths[1:])
    assert np.all((width_order > 0.8) & (width_order < 1.3)), width_order
    assert exact > 1.8 * a0


@pytest.mark.parametrize("m", [2.0, 3.5])
def test_enclosure_holds_for_other_exponents(m):
    a0, d = 5e-3, 0.3 / (C * 1.4**m * np.pi ** (m / 2) * 5e-3 ** (m / 2 - 1))  # about 30 % growth
    exact = by_driver(a0, d, C, m, edge_Y)
    step = block_step(jnp.asarray(a0), d, C, m, EdgeCrack(W))
    assert float(step.lower_m) <= exact <= float(step.upper_m) and exact > 1.2 * a0
    assert float(step.crack_m) == pytest.approx(exact, rel=1e-3)


def test_constant_Y_geometry_collapses_the_enclosure_to_the_exact_step():
    drivers = jnp.array([1e8, 3e8, 2e8])
    exact = grow_blocks(3e-3, drivers, C, M, 1.12)
    path = grow_blocks_bounded(3e-3, drivers, C, M, ConstantY(1.12))
    for x in path:
        np.testing.assert_allclose(x, exact, rtol=1e-13)


def test_an_unstable_block_has_no_finite_upper_bound():
    step = block_step(jnp.asarray(0.01), 5e10, C, M, EdgeCrack(W))
    assert np.isinf(float(step.crack_m)) and np.isinf(float(step.upper_m))
    assert float(step.lower_m) > 0.01  # the lower bound stays valid and finite


def test_zero_driver_leaves_the_crack_alone():
    lo, hi = block_enclosure(jnp.asarray(4e-3), 0.0, C, M, EdgeCrack(W))
    assert float(lo) == pytest.approx(4e-3, rel=1e-14) and float(hi) == pytest.approx(4e-3, rel=1e-14)


def test_edge_crack_Y_values_and_extremes():
    assert float(finite_width_edge_crack_Y(0.0, W)) == pytest.approx(1.12)
    assert float(finite_width_edge_crack_Y(0.5 * W, W)) == pytest.approx(2.83, abs=0.01)  # handbook table
    geometry = EdgeCrack(W)
    for lo, hi in [(0.0, 0.02), (1e-4, 3e-4), (0.005, 0.024)]:
        dense = np.asarray(geometry(np.linspace(lo, hi, 20001)))
        y_min, y_max = geometry.extremes(lo, hi)
        assert float(y_min) <= dense.min() and float(y_min) == pytest.approx(dense.min(), abs=1e-8)
        assert float(y_max) == pytest.approx(dense.max(), rel=1e-15)
    with pytest.raises(ValueError, match="width_m = 0.0; must be > 0"):
        EdgeCrack(0.0)


def test_jit_and_vmap_equal_plain_calls():
    drivers = block_driver(*load_blocks(20, 30, seed=3), M)
    a0s, Cs = jnp.array([1e-3, 2e-3, 4e-3]), jnp.array([1e-10, 2e-10, 3e-10])
    plain = [grow_blocks(a, drivers, c, M, 1.12) for a, c in zip(a0s, Cs)]
    batched = jax.jit(jax.vmap(grow_blocks, in_axes=(0, None, 0, None, None)))(a0s, drivers, Cs, M, 1.12)
    np.testing.assert_array_equal(jax.jit(grow_blocks)(a0s[0], drivers, Cs[0], M, 1.12), plain[0])
    np.testing.assert_allclose(batched, np.stack(plain), rtol=1e-14)
    np.testing.assert_allclose(grow_blocks(a0s, drivers, Cs, M, 1.12), np.stack(plain).T, rtol=1e-14)  # broadcast

    geometries = EdgeCrack(jnp.array([0.03, 0.04, 0.05]))
    plain_b = [grow_blocks_bounded(a, drivers[:8], c, M, EdgeCrack(w)) for a, c, w in zip(a0s, Cs, geometries.width_m)]
    vmapped = jax.vmap(grow_blocks_bounded, in_axes=(0, None, 0, None, 0))
    batched_b = jax.jit(vmapped)(a0s, drivers[:8], Cs, M, geometries)
    for i, p in enumerate(plain_b):
        for got, want in zip(batched_b, p):
            np.testing.assert_allclose(got[i], want, rtol=1e-14)


def test_predictor_corrector_takes_a_plain_function_under_jit():
    Y = partial(finite_width_edge_crack_Y, width_m=W)
    plain = predictor_corrector_block(jnp.asarray(5e-3), 1e8, C, M, Y)
    jitted = jax.jit(lambda a, d: predictor_corrector_block(a, d, C, M, Y))(5e-3, 1e8)
    assert float(jitted) == pytest.approx(float(plain), rel=1e-14)
    assert float(plain) == pytest.approx(by_driver(5e-3, 1e8, C, M, edge_Y), rel=2e-4)
