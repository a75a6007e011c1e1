"""Fatigue crack growth by the Paris–Erdogan law, advanced exactly over blocks.

    da/dN = C ΔK^m,   ΔK = Y Δσ sqrt(π a)

Units: crack length a in m, stress range Δσ in MPa, ΔK in MPa·sqrt(m),
C in m/cycle/(MPa·sqrt(m))^m. With Y constant the law separates:

    ∫ a^(-m/2) da = C (Y sqrt(π))^m Σ Δσ_i^m

so growth over any set of cycles depends only on the *driver*
D = Σ Δσ_i^m (MPa^m). A block of any length is one closed-form step; this is
what makes years of load cycles cheap and exact.
"""

from __future__ import annotations

import jax.numpy as jnp


def _growth_constant(C, m, Y):
    return C * (Y * jnp.sqrt(jnp.pi)) ** m


def paris_block(a_m, driver, C, m, Y):
    """Crack length after a block with driver D = Σ Δσ^m (exact).

    For m != 2:  a1 = [a0^(1-m/2) - (m/2 - 1) C (Y√π)^m D]^(1/(1-m/2));
    for m == 2:  a1 = a0 exp(C Y² π D).
    Where the bracket reaches zero the crack grows without bound within the
    block: the result is +inf.
    """
    k = _growth_constant(C, m, Y)
    e = 1.0 - m / 2.0
    safe_e = jnp.where(e == 0.0, 1.0, e)
    g = a_m**safe_e + safe_e * k * driver  # e < 0 for m > 2: g falls
    unstable = (g <= 0.0) & (e < 0.0)
    a_power = jnp.where(unstable, 1.0, g) ** (1.0 / safe_e)
    a_power = jnp.where(unstable, jnp.inf, a_power)
    return jnp.where(e == 0.0, a_m * jnp.exp(k * driver), a_power)


def paris_driver_to_grow(a0_m, a1_m, C, m, Y):
    """Driver D = Σ Δσ^m (MPa^m) that grows a crack from a0 to a1 (inverse of `paris_block`)."""
    k = _growth_constant(C, m, Y)
    e = 1.0 - m / 2.0
    safe_e = jnp.where(e == 0.0, 1.0, e)
    power_form = (a1_m**safe_e - a0_m**safe_e) / (safe_e * k)
    return jnp.where(e == 0.0, jnp.log(a1_m / a0_m) / k, power_form)


def paris_life_cycles(a0_m, a_crit_m, stress_range_MPa, C, m, Y):
    """Cycles of constant amplitude Δσ that grow a crack from a0 to a_crit."""
    return paris_driver_to_grow(a0_m, a_crit_m, C, m, Y) / stress_range_MPa**m


def crossing_fraction(a_start_m, a_end_m, a_crit_m, m):
    """Fraction of a uniformly loaded block at which the crack reaches a_crit.

    Within a block whose driver accumulates linearly in time, a^(1-m/2) is
    linear in time (ln a for m = 2), so the crossing time is exact.
    Returns a value in [0, 1]; callers apply it only where a_start < a_crit <= a_end.
    """
    e = 1.0 - m / 2.0
    safe_e = jnp.where(e == 0.0, 1.0, e)

    def transform(a):
        return jnp.where(e == 0.0, jnp.log(a), a**safe_e)

    g0, g1, gc = transform(a_start_m), transform(a_end_m), transform(a_crit_m)
    # a_end may be +inf (unstable): a^e -> 0 for e < 0, which is the right limit.
    frac = (gc - g0) / jnp.where(g1 == g0, 1.0, g1 - g0)
    return jnp.clip(frac, 0.0, 1.0)
