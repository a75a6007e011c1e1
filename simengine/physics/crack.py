"""Fatigue crack growth by the Paris–Erdogan law, advanced exactly over blocks.

    da/dN = C ΔK^m,   ΔK = Y Δσ sqrt(π a)

Units: crack length a in m, stress range Δσ in MPa, ΔK in MPa·sqrt(m),
C in m/cycle/(MPa·sqrt(m))^m. With Y constant the law separates:

    ∫ a^(-m/2) da = C (Y sqrt(π))^m Σ Δσ_i^m

so growth over any set of cycles depends only on the *driver*
D = Σ Δσ_i^m (MPa^m). A block of any length is one closed-form step; this is
what makes years of load cycles cheap and exact.

The integral and its inverse are written in a form exact at every m, with
p = 1 - m/2 (the textbook (a1^p - a0^p)/p cancels catastrophically near m = 2):

    I(a0, a1) = ∫_{a0}^{a1} a^(-m/2) da = a0^p · expm1(p ln(a1/a0)) / p      (→ a0^0 ln(a1/a0) at p = 0)
    a1 = a0 · exp(log1p(p x / a0^p) / p)                                    (→ a0 exp(x) at p = 0)

for an integral x. Where |p·(argument)| is tiny a three-term series replaces the
quotient, so values and gradients (in m as well) stay finite and exact at p = 0.
"""

from __future__ import annotations

import jax.numpy as jnp

_SERIES_BELOW = 1e-5  # |p·z| under which the series (relative error < 1e-16) replaces expm1/p and log1p/p


def _growth_constant(C, m, Y):
    return C * (Y * jnp.sqrt(jnp.pi)) ** m


def expm1_over(p, z):
    """expm1(p z) / p, exact at p = 0 (→ z) with finite gradients in p (double where)."""
    small = jnp.abs(p * z) < _SERIES_BELOW
    safe_p = jnp.where(small, 1.0, p)
    pz = p * z
    series = z * (1.0 + pz / 2.0 + pz * pz / 6.0)
    return jnp.where(small, series, jnp.expm1(jnp.where(small, 0.0, safe_p * z)) / safe_p)


def log1p_over(p, y):
    """log1p(p y) / p, exact at p = 0 (→ y); +inf where p y <= -1 (p < 0: the crack runs away)."""
    py = p * y
    small = jnp.abs(py) < _SERIES_BELOW
    runaway = py <= -1.0
    safe_p = jnp.where(small | runaway, 1.0, p)
    safe_py = jnp.where(small | runaway, 0.0, safe_p * y)
    series = y * (1.0 - py / 2.0 + py * py / 3.0)
    value = jnp.where(small, series, jnp.log1p(safe_py) / safe_p)
    return jnp.where(runaway, jnp.inf, value)


def paris_integral(a0_m, a1_m, m):
    """∫_{a0}^{a1} a^(-m/2) da (m^(1-m/2)), exact at every m; +inf-safe: a1 = inf gives the
    finite limit -a0^p/p for m > 2."""
    p = 1.0 - m / 2.0
    # the ratio in JAX: NumPy inputs would warn 0/0 and inf/inf for assets whose lanes the caller ignores
    return a0_m**p * expm1_over(p, jnp.log(jnp.asarray(a1_m) / a0_m))


def paris_integral_inverse(a0_m, x, m):
    """The crack a1 with ∫_{a0}^{a1} a^(-m/2) da = x; +inf where the integral runs out (m > 2)."""
    p = 1.0 - m / 2.0
    return a0_m * jnp.exp(log1p_over(p, x / a0_m**p))


def paris_block(a_m, driver, C, m, Y):
    """Crack length after a block with driver D = Σ Δσ^m (exact at every m).

    a1 = a0 · exp(log1p(p k D / a0^p) / p), k = C (Y√π)^m, p = 1 - m/2
    (a0 exp(k D) at m = 2). Where p k D / a0^p <= -1 the crack grows without
    bound within the block: the result is +inf.
    """
    return paris_integral_inverse(a_m, _growth_constant(C, m, Y) * driver, m)


def paris_driver_to_grow(a0_m, a1_m, C, m, Y):
    """Driver D = Σ Δσ^m (MPa^m) that grows a crack from a0 to a1 (inverse of `paris_block`)."""
    return paris_integral(a0_m, a1_m, m) / _growth_constant(C, m, Y)


def paris_life_cycles(a0_m, a_crit_m, stress_range_MPa, C, m, Y):
    """Cycles of constant amplitude Δσ that grow a crack from a0 to a_crit."""
    return paris_driver_to_grow(a0_m, a_crit_m, C, m, Y) / stress_range_MPa**m


def crossing_fraction(a_start_m, a_end_m, a_crit_m, m):
    """Fraction of a uniformly loaded block at which the crack reaches a_crit.

    Within a block whose driver accumulates linearly in time, the Paris
    integral from a_start is linear in time, so the crossing time is exact:
    I(a_start, a_crit) / I(a_start, a_end).
    Returns a value in [0, 1]; callers apply it only where a_start < a_crit <= a_end.
    """
    to_crit = paris_integral(a_start_m, a_crit_m, m)
    to_end = paris_integral(a_start_m, a_end_m, m)  # a_end = +inf (unstable): the finite limit for m > 2
    frac = to_crit / jnp.where(to_end == 0.0, 1.0, to_end)
    return jnp.clip(frac, 0.0, 1.0)
