"""S-N curves from the design codes, and mean-stress correction.

Units: stress ranges, means and strengths in MPa; endurance in cycles.
Every constructor returns the engine's `simengine.physics.sn.SNCurve`, so the
fatigue batches and the engine's assets evaluate the same curve.

EN 1993-1-9:2005 (Eurocode 3, fatigue), §7.1 and Fig. 7.1. A detail category
Δσ_C is the range at N_C = 2·10^6 cycles; slope m = 3 down to the constant
amplitude fatigue limit Δσ_D at N_D = 5·10^6, slope m = 5 down to the cut-off
limit Δσ_L at N_L = 10^8; ranges below Δσ_L do no damage:

    Δσ_D = (2/5)^(1/3) Δσ_C = 0.737 Δσ_C,    Δσ_L = (5/100)^(1/5) Δσ_D = 0.549 Δσ_D

`SNCurve` has no cut-off, so the cut-off is a range passed to
`simengine.fatigue.miner.damage(..., cutoff_MPa=cutoff_range_MPa(curve))`.

DNV-RP-C203, §2.4, Table 2-1 (S-N curves in air): two slopes meeting at
N_knee = 10^7 cycles,

    log10 N = log10 a1 - m1 log10 Δσ   for N <= N_knee
    log10 N = log10 a2 - m2 log10 Δσ   for N >  N_knee

e.g. curve D: log a1 = 12.164, m1 = 3, log a2 = 15.606, m2 = 5, fatigue limit
52.63 MPa at 10^7 cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp

from simengine.physics.sn import SNCurve

EN1993_REFERENCE_CYCLES = 2.0e6
EN1993_KNEE_CYCLES = 5.0e6
EN1993_CUTOFF_CYCLES = 1.0e8
DNV_KNEE_CYCLES = 1.0e7
MEAN_STRESS_METHODS = ("none", "goodman", "gerber", "swt", "en1993")
_EN1993_COMPRESSIVE_SHARE = 0.6  # EN 1993-1-9 §7.2.1(2)


def eurocode_detail(category_MPa: float) -> SNCurve:
    """EN 1993-1-9 curve of detail category Δσ_C (MPa): m1 = 3 to 5·10^6 cycles, m2 = 5 beyond.

    For the cut-off at 10^8 cycles pass `cutoff_range_MPa(curve)` to the damage sum.
    """
    if not (isinstance(category_MPa, (int, float)) and math.isfinite(category_MPa) and category_MPa > 0):
        raise ValueError(f"category_MPa = {category_MPa!r}; must be a finite number > 0 (e.g. 71, 90, 160)")
    return SNCurve(detail_category_MPa=float(category_MPa), m1=3.0, m2=5.0,
                   reference_cycles=EN1993_REFERENCE_CYCLES, knee_cycles=EN1993_KNEE_CYCLES)


def cutoff_range_MPa(curve: SNCurve, cutoff_cycles: float = EN1993_CUTOFF_CYCLES) -> float:
    """Range Δσ_L (MPa) where the curve reaches `cutoff_cycles` (beyond the knee, on slope m2)."""
    if not cutoff_cycles >= curve.knee_cycles:
        raise ValueError(f"cutoff_cycles = {cutoff_cycles!r}; must be >= knee_cycles = {curve.knee_cycles!r}")
    return float(curve.knee_stress_MPa * (curve.knee_cycles / cutoff_cycles) ** (1.0 / curve.m2))


def dnv_curve(log_a1: float, m1: float, log_a2: float, m2: float, knee_cycles: float = DNV_KNEE_CYCLES,
              *, reference_cycles: float = EN1993_REFERENCE_CYCLES, log_tolerance: float = 0.005) -> SNCurve:
    """Two-slope DNV-RP-C203 curve as an `SNCurve`.

    The upper branch fixes the curve: Δσ_C = (a1 / N_C)^(1/m1) at N_C =
    `reference_cycles`. The lower branch is then implied by continuity at the
    knee, log a2 = log N_knee + m2 log Δσ_knee; the given log a2 must agree to
    within `log_tolerance` (the tables round to three decimals).
    """
    problems = [f"{name} = {value!r}; must be a finite number > 0"
                for name, value in (("m1", m1), ("m2", m2), ("knee_cycles", knee_cycles),
                                    ("reference_cycles", reference_cycles))
                if not (math.isfinite(value) and value > 0)]
    if problems:
        raise ValueError("invalid DNV curve: " + "; ".join(problems))
    log_knee_stress = (log_a1 - math.log10(knee_cycles)) / m1
    implied_log_a2 = math.log10(knee_cycles) + m2 * log_knee_stress
    if abs(implied_log_a2 - log_a2) > log_tolerance:
        raise ValueError(
            f"log_a2 = {log_a2!r} is discontinuous with the upper branch: continuity at N = {knee_cycles:g} "
            f"needs log_a2 = {implied_log_a2:.4f} (tolerance {log_tolerance})")
    category = 10.0 ** ((log_a1 - math.log10(reference_cycles)) / m1)
    return SNCurve(detail_category_MPa=category, m1=float(m1), m2=float(m2),
                   reference_cycles=float(reference_cycles), knee_cycles=float(knee_cycles))


def equivalent_range(ranges_MPa, means_MPa, method: str = "goodman", ultimate_MPa: float | None = None):
    """Fully reversed range Δσ_eq (MPa) equivalent to each (Δσ, σ_m) pair.

    With σ_a = Δσ/2, σ_max = σ_m + σ_a, σ_min = σ_m - σ_a, σ_u = `ultimate_MPa`:

    - "none":    Δσ_eq = Δσ (the EN 1993-1-9 / DNV rule for as-welded details,
                 whose residual stresses make the applied mean irrelevant).
    - "goodman": Δσ_eq = Δσ / (1 - σ_m/σ_u)      (Goodman 1899)
    - "gerber":  Δσ_eq = Δσ / (1 - (σ_m/σ_u)^2)  (Gerber 1874)
      For both: σ_m < 0 leaves Δσ unchanged (no credit is taken for a
      compressive mean, a conservative convention) and σ_m >= σ_u gives +inf
      (static failure). See Dowling, Mechanical Behavior of Materials, ch. 9.
    - "swt":     Δσ_eq = 2 sqrt(σ_max σ_a) for σ_max > 0, else 0
                 (Smith, Watson & Topper, J. Materials 5 (1970) 767-778);
                 needs no σ_u.
    - "en1993":  Δσ_eq = tensile part of the range + 0.6 × compressive part
                 (EN 1993-1-9 §7.2.1(2), non-welded or stress-relieved details).

    Arrays broadcast; the result is a JAX array.
    """
    if method not in MEAN_STRESS_METHODS:
        raise ValueError(f"method = {method!r}; must be one of {MEAN_STRESS_METHODS}")
    if method in ("goodman", "gerber") and not (ultimate_MPa is not None and ultimate_MPa > 0):
        raise ValueError(f"ultimate_MPa = {ultimate_MPa!r}; method {method!r} needs an ultimate strength > 0 MPa")
    ds = jnp.asarray(ranges_MPa, dtype=float)
    sm = jnp.broadcast_to(jnp.asarray(means_MPa, dtype=float), ds.shape)
    if method == "none":
        return ds
    if method in ("goodman", "gerber"):
        ratio = jnp.maximum(sm, 0.0) / ultimate_MPa
        denom = 1.0 - (ratio if method == "goodman" else ratio**2)
        return jnp.where(denom > 0.0, ds / jnp.where(denom > 0.0, denom, 1.0), jnp.inf)
    s_max, s_min = sm + ds / 2.0, sm - ds / 2.0
    if method == "swt":
        return jnp.where(s_max > 0.0, 2.0 * jnp.sqrt(jnp.maximum(s_max, 0.0) * ds / 2.0), 0.0)
    tensile = jnp.maximum(s_max, 0.0) - jnp.maximum(s_min, 0.0)
    compressive = jnp.minimum(s_max, 0.0) - jnp.minimum(s_min, 0.0)
    return tensile + _EN1993_COMPRESSIVE_SHARE * compressive


@dataclass(frozen=True)
class MeanStressCorrection:
    """A mean-stress rule for `equivalent_range`, checked once at construction."""

    method: str = "goodman"
    ultimate_MPa: float | None = None

    def __post_init__(self):
        equivalent_range(0.0, 0.0, self.method, self.ultimate_MPa)  # raises on a bad method or strength

    def __call__(self, ranges_MPa, means_MPa):
        return equivalent_range(ranges_MPa, means_MPa, self.method, self.ultimate_MPa)
