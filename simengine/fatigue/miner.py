"""Palmgren–Miner damage of counted cycles (linear damage accumulation).

Units: stress ranges in MPa, counts in cycles (a half cycle counts 0.5, as
rainflow per ASTM E1049-85 reports it).

    D = Σ_i n_i / N(Δσ_i),   failure at D = 1

with N(Δσ) the bilinear Basquin curve of `simengine.physics.sn` (the same
kernel the engine's assets use). `cycles` is any object with arrays `ranges`,
`counts` and, when a mean-stress correction is asked for, `means` — the
rainflow `Cycles` and `LoadSpectrum` both qualify.
"""

from __future__ import annotations

import jax.numpy as jnp

from simengine.fatigue.crack_growth import block_driver
from simengine.fatigue.sn_curves import MeanStressCorrection
from simengine.physics.sn import SNCurve, miner_damage


def effective_ranges(cycles, mean_stress: MeanStressCorrection | None = None):
    """Ranges (MPa) the S-N curve sees: `cycles.ranges`, mean-stress corrected when asked."""
    if mean_stress is None:
        return jnp.asarray(cycles.ranges, dtype=float)
    if not isinstance(mean_stress, MeanStressCorrection):
        raise TypeError(f"mean_stress = {mean_stress!r}; must be a MeanStressCorrection or None")
    return mean_stress(cycles.ranges, cycles.means)


def damage(curve: SNCurve, cycles, mean_stress: MeanStressCorrection | None = None, *, cutoff_MPa=None):
    """Miner damage D = Σ n_i / N(Δσ_eq,i) of `cycles` (a 0-d JAX array; jittable).

    `cutoff_MPa`: ranges below it (after mean-stress correction) do no damage,
    e.g. `cutoff_range_MPa(curve)` for the EN 1993-1-9 cut-off at 10^8 cycles.
    A range of +inf (a mean at or above the ultimate strength) gives D = inf.
    """
    ranges = effective_ranges(cycles, mean_stress)
    counts = jnp.asarray(cycles.counts, dtype=float)
    if cutoff_MPa is not None:
        counts = jnp.where(ranges < cutoff_MPa, 0.0, counts)
    return miner_damage(curve, ranges, counts)


def life_in_repeats(curve: SNCurve, cycles, mean_stress: MeanStressCorrection | None = None, *, cutoff_MPa=None):
    """Repeats of the block `cycles` until D = 1: 1 / D (inf when the block does no damage)."""
    d = damage(curve, cycles, mean_stress, cutoff_MPa=cutoff_MPa)
    return jnp.where(d > 0.0, 1.0 / jnp.where(d > 0.0, d, 1.0), jnp.inf)


def damage_equivalent_range(cycles, m, n_ref=2.0e6):
    """Constant range (MPa) that does the damage of `cycles` in `n_ref` cycles on a single-slope curve:

        Δσ_eq = (Σ n_i Δσ_i^m / n_ref)^(1/m)

    Exact for a one-slope Basquin curve of exponent m (and for the Paris driver
    with the same m); for a bilinear curve only while every range is above the knee.
    """
    return (block_driver(cycles.ranges, cycles.counts, m) / n_ref) ** (1.0 / m)
