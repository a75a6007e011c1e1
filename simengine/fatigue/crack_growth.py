"""Paris–Erdogan crack growth over blocks of variable-amplitude cycles.

Units: crack length a in m, stress range Δσ in MPa, C in m/cycle/(MPa·√m)^m,
driver in MPa^m. The kernel is `simengine.physics.crack.paris_block`, the one
the engine's assets step with.

    da/dN = C (Y Δσ sqrt(π a))^m

Write s for the cumulative driver, ds = Δσ^m dN, and g(a) = a^(1-m/2)
(ln a for m = 2). Then

    dg/ds = (1 - m/2) C π^(m/2) Y(a)^m                                   (*)

an autonomous ODE in s: the crack at the end of a block depends only on its
driver D = Σ n_i Δσ_i^m, not on the order of the cycles within it, even when Y
depends on a.

- Constant Y: (*) has a constant right side, g is linear in s and a block of
  any length is one exact closed-form step (`grow_blocks`).
- Y(a): `predictor_corrector_block` is Heun's method on (*) with step D —
  predictor a_p = paris_block(Y(a0)), corrector with the effective factor
  Y_eff^m = (Y(a0)^m + Y(a_p)^m) / 2. Its error is O(D^3) per block and
  O(D^2) over a fixed load (order 2), zero for constant Y.
- Rigorous block error bound: growth is monotone in Y, so the true crack a1
  after a block lies in [paris_block(Y_min), paris_block(Y_max)] with Y_min,
  Y_max the extremes of Y over [a0, a1]. `block_enclosure` finds an upper
  bound A of a1 by a certificate (if paris_block(max Y on [a0, A]) <= A then
  a1 <= A) and returns that enclosure; the upper end is +inf where no bound
  can be certified (a block that may run unstable, or one that grows the crack
  by a large fraction: split it). Its width is O(D^2) per block, O(D) over a
  fixed load.
  Exact flows do not cross, so stepping the lower bound from the lower bound
  and the upper from the upper (`grow_blocks_bounded`) encloses the whole
  path, up to floating-point rounding.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simengine.physics.crack import paris_block
from simengine.physics.pytree import pytree_dataclass

# Tada, Paris & Irwin, The Stress Analysis of Cracks Handbook: single edge crack
# in a finite-width strip under tension, 0.5 % accurate for a/W <= 0.6.
_EDGE_COEFFS = (30.39, -21.72, 10.55, -0.231, 1.12)  # highest power first (Horner)
# Y'' = 21.1 - 130.32 x + 364.68 x^2 has no real root, so Y is convex and Y' has
# exactly one real root: the minimum of Y, at a/W ≈ 0.011.
_EDGE_ARGMIN = float(next(r.real for r in np.roots(np.polyder(_EDGE_COEFFS)) if abs(r.imag) < 1e-12))
_CERTIFY_ITERATIONS = 4
_CERTIFY_MARGIN = 0.05  # relative widening of the growth before the certificate check


def block_driver(ranges_MPa, counts, m):
    """Paris driver Σ_i n_i Δσ_i^m (MPa^m), summed over the last axis; arrays broadcast."""
    ranges = jnp.asarray(ranges_MPa, dtype=float)
    return jnp.sum(jnp.asarray(counts, dtype=float) * ranges**m, axis=-1)


def grow_blocks(a0_m, drivers, C, m, Y):
    """Crack length (m) after each block for a constant geometry factor Y (exact).

    drivers: shape (n_blocks, ...) in MPa^m; a0, C, m, Y broadcast against
    drivers[0] (e.g. shape (n_replicas,) each). Returns shape (n_blocks, ...).
    One closed-form step per block inside `jax.lax.scan`; jit and vmap freely.
    """
    def step(a, d):
        a1 = paris_block(a, d, C, m, Y)
        return a1, a1

    drivers = jnp.asarray(drivers, dtype=float)
    shape = jnp.broadcast_shapes(drivers.shape[1:], *(jnp.shape(x) for x in (a0_m, C, m, Y)))
    a0 = jnp.broadcast_to(jnp.asarray(a0_m, dtype=float), shape)
    return jax.lax.scan(step, a0, drivers)[1]


def finite_width_edge_crack_Y(a_m, width_m):
    """Y(a/W) = 1.12 - 0.231 (a/W) + 10.55 (a/W)^2 - 21.72 (a/W)^3 + 30.39 (a/W)^4 (Tada, Paris & Irwin)."""
    x = jnp.asarray(a_m, dtype=float) / width_m
    y = jnp.full_like(x, _EDGE_COEFFS[0])
    for c in _EDGE_COEFFS[1:]:
        y = y * x + c  # Horner: +inf at x = inf, never inf - inf
    return y


@pytree_dataclass
class EdgeCrack:
    """Single edge crack in a strip of width W (m); Y and its extremes over an interval."""

    width_m: float

    def __post_init__(self):
        w = self.width_m
        if isinstance(w, (int, float)) and not w > 0:
            raise ValueError(f"width_m = {w!r}; must be > 0")

    def __call__(self, a_m):
        return finite_width_edge_crack_Y(a_m, self.width_m)

    def extremes(self, a_lo_m, a_hi_m):
        """(min Y, max Y) over [a_lo, a_hi]: Y is convex, so the max is at an end."""
        a_min = jnp.clip(_EDGE_ARGMIN * self.width_m, a_lo_m, a_hi_m)
        return self(a_min), jnp.maximum(self(a_lo_m), self(a_hi_m))


@pytree_dataclass
class ConstantY:
    """A geometry factor that does not depend on crack length."""

    Y: float = 1.12

    def __call__(self, a_m):
        return self.Y * jnp.ones_like(jnp.asarray(a_m, dtype=float))

    def extremes(self, a_lo_m, a_hi_m):
        y = self(a_lo_m)
        return y, y


def predictor_corrector_block(a_m, driver, C, m, Y):
    """Crack length (m) after a block of driver D (MPa^m) with a crack-length dependent Y(a).

    Heun's method on (*): a_p = paris_block(a0, D, Y(a0)), then
    a1 = paris_block(a0, D, Y_eff), Y_eff = ((Y(a0)^m + Y(a_p)^m) / 2)^(1/m).
    `Y` is any callable a -> Y (a geometry object or a plain function).
    """
    y0 = Y(a_m)
    y_pred = Y(paris_block(a_m, driver, C, m, y0))
    y_eff = (0.5 * (y0**m + y_pred**m)) ** (1.0 / m)
    return paris_block(a_m, driver, C, m, y_eff)


def block_enclosure(a_m, driver, C, m, geometry, guess_m=None):
    """(lower, upper) crack length (m) that enclose the exact end of the block.

    `geometry` needs `extremes(a_lo, a_hi) -> (min Y, max Y)`. The upper bound
    iterates A <- paris_block(max Y on [a0, A]) from `guess_m` (default: the
    predictor–corrector result), widens the growth by 5 % and keeps the bound
    only if the certificate holds; otherwise upper = +inf. The lower bound uses
    min Y over [a0, upper].
    """
    def grow(y):
        return jnp.where(driver > 0, paris_block(a_m, driver, C, m, y), a_m)

    cand = predictor_corrector_block(a_m, driver, C, m, geometry) if guess_m is None else guess_m
    for _ in range(_CERTIFY_ITERATIONS):
        cand = jnp.maximum(grow(geometry.extremes(a_m, cand)[1]), a_m)
    trial = a_m + (cand - a_m) * (1.0 + _CERTIFY_MARGIN)
    bound = grow(geometry.extremes(a_m, trial)[1])
    upper = jnp.where(bound <= trial, bound, jnp.inf)
    lower = grow(geometry.extremes(a_m, upper)[0])
    return lower, upper


class BlockStep(NamedTuple):
    """Crack length (m) by the predictor–corrector and its rigorous enclosure."""

    crack_m: jax.Array
    lower_m: jax.Array
    upper_m: jax.Array


def block_step(a_m, driver, C, m, geometry) -> BlockStep:
    """One block: predictor–corrector estimate and the enclosure of the exact result."""
    a1 = predictor_corrector_block(a_m, driver, C, m, geometry)
    lower, upper = block_enclosure(a_m, driver, C, m, geometry, a1)
    return BlockStep(a1, lower, upper)


def grow_blocks_bounded(a0_m, drivers, C, m, geometry) -> BlockStep:
    """Predictor–corrector path over blocks with a rigorous enclosure of the exact path.

    drivers: shape (n_blocks,) in MPa^m. Returns `BlockStep` of arrays of
    shape (n_blocks,): estimate, lower bound, upper bound after each block.
    """
    def step(carry, d):
        a, lo, hi = carry
        a1 = predictor_corrector_block(a, d, C, m, geometry)
        lo1 = block_enclosure(lo, d, C, m, geometry)[0]
        hi1 = block_enclosure(hi, d, C, m, geometry)[1]
        return (a1, lo1, hi1), BlockStep(a1, lo1, hi1)

    a0 = jnp.asarray(a0_m, dtype=float)
    return jax.lax.scan(step, (a0, a0, a0), jnp.asarray(drivers, dtype=float))[1]
