"""S-N fatigue: Basquin curves with a knee (Eurocode 3 / DNV detail categories)
and Palmgren–Miner damage.

Stress ranges Δσ in MPa. A detail category Δσ_C is the stress range that gives
N_C = 2·10^6 cycles. Below the knee stress (the range at `knee_cycles`,
5·10^6 in EN 1993-1-9) the slope changes from m1 to m2:

    N = N_C (Δσ_C / Δσ)^m1                    for Δσ >= Δσ_D
    N = N_knee (Δσ_D / Δσ)^m2                 for Δσ <  Δσ_D

Miner: D = Σ n_i / N_i; failure at D = 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simengine.physics.pytree import pytree_dataclass


@pytree_dataclass
class SNCurve:
    """Bilinear Basquin curve. Set m2 = m1 for a single slope."""

    detail_category_MPa: float = 71.0
    m1: float = 3.0
    m2: float = 5.0
    reference_cycles: float = 2.0e6
    knee_cycles: float = 5.0e6

    @property
    def knee_stress_MPa(self):
        return self.detail_category_MPa * (self.reference_cycles / self.knee_cycles) ** (1.0 / self.m1)


def cycles_to_failure(curve: SNCurve, stress_range_MPa):
    """Endurance N(Δσ) in cycles; +inf for a zero range."""
    return _endurance(curve, curve.knee_stress_MPa, stress_range_MPa)


def cycles_to_failure_compiled(curve: SNCurve, stress_range_MPa):
    """`cycles_to_failure` as one compiled call (for a duty that asks per window) instead of eight eager
    dispatches, agreeing with it bit for bit: the curve is an argument, not a constant (with a constant
    exponent XLA rewrites pow(x, 3) into multiplications, which changes the last bits), and the knee
    stress is worked out in Python as the eager evaluation does."""
    return _endurance_compiled(curve, curve.knee_stress_MPa, stress_range_MPa)


def _endurance(curve: SNCurve, knee_stress_MPa, stress_range_MPa):
    s = jnp.asarray(stress_range_MPa, dtype=float)
    safe = jnp.where(s > 0.0, s, 1.0)
    upper = curve.reference_cycles * (curve.detail_category_MPa / safe) ** curve.m1
    lower = curve.knee_cycles * (knee_stress_MPa / safe) ** curve.m2
    n = jnp.where(safe >= knee_stress_MPa, upper, lower)
    return jnp.where(s > 0.0, n, jnp.inf)


_endurance_compiled = jax.jit(_endurance)


def miner_damage(curve: SNCurve, stress_ranges_MPa, counts):
    """Palmgren–Miner damage Σ n_i / N_i over counted cycles (counts may be 0.5 for half cycles)."""
    return jnp.sum(jnp.asarray(counts) / cycles_to_failure(curve, stress_ranges_MPa))
