"""Remaining useful life of a cracked joint: posterior samples pushed through the fatigue batch.

Each sample (a_now, C) grows by Paris–Erdogan under the joint's duty, in blocks of `block_h` hours:
block n applies the driver

    D[n] = B[n] · d̄ · block_h,     B[n] = (length of block n) · T_n,   T_n ~ Gamma(mean 1, cv) or 1

with d̄ the expected Σ Δσ^m per hour (`simengine.kinds.lift_duty.expected_driver_per_s` · 3600) and T_n a block's traffic,
shared by all samples (one future load history; the samples carry the state's uncertainty). The remaining
life is the time at which a reaches `critical_m`, exact for constant Y (`simengine.fatigue.batch.run_constant_Y`):
with multipliers all 1,

    RUL = paris_driver_to_grow(a_now, a_crit, C, m, Y) / d̄.

Units: m, h, MPa; C in m/cycle/(MPa·√m)^m. A sample already at or past the critical depth has RUL 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from simengine.fatigue.batch import FAILED, INVALID, STATUS, SURVIVED, ReplicaParams, run_constant_Y
from simengine.units import HOURS_PER_YEAR


@dataclass(frozen=True)
class RemainingLife:
    """Per-sample remaining life (n,) in hours: inf where the joint survives the horizon, NaN where the
    sample was invalid (C <= 0, a <= 0, not finite; see `simengine.fatigue.batch.STATUS`)."""

    hours: np.ndarray
    status: np.ndarray  # batch status codes, FAILED also for samples at or past the critical depth now
    horizon_h: float

    def _valid(self) -> np.ndarray:
        return self.hours[self.status != INVALID]

    def quantiles(self, q=(0.05, 0.5, 0.95)) -> np.ndarray:
        """Quantiles (h) of the valid samples' RUL, each a sample's value (inf past the horizon)."""
        valid = self._valid()
        if valid.size == 0:
            return np.full(np.shape(q), np.nan)
        return np.quantile(valid, q, method="inverted_cdf")  # no interpolation: inf stays inf, not NaN

    def failure_probability(self, within_h) -> np.ndarray:
        """P(RUL <= within_h) over the valid samples, for each time (h) in within_h."""
        valid = self._valid()
        within = np.atleast_1d(np.asarray(within_h, float))
        if valid.size == 0:
            return np.full(within.shape, np.nan)
        return (valid[None, :] <= within[:, None]).mean(1)

    @property
    def survives(self) -> float:
        """Share of the valid samples that survive the horizon."""
        valid = self.status != INVALID
        return float((self.status[valid] == SURVIVED).mean()) if valid.any() else math.nan

    def status_counts(self) -> dict[str, int]:
        return {STATUS[code]: int((self.status == code).sum()) for code in STATUS}


def traffic_multipliers(n_blocks: int, last_length: float, traffic_cv: float, rng: np.random.Generator | None):
    """B[n]: Gamma(mean 1, cv) traffic per block (1 with cv = 0) times each block's length, the last partial."""
    lengths = np.ones(n_blocks)
    lengths[-1] = last_length
    if traffic_cv == 0.0:
        return lengths
    if rng is None:
        raise ValueError(f"traffic_cv = {traffic_cv}: a random traffic needs rng (a numpy Generator)")
    k = 1.0 / traffic_cv**2
    return rng.gamma(k, 1.0 / k, n_blocks) * lengths


def remaining_life(crack_m, paris_C, *, paris_m: float, geometry_Y: float, critical_m: float, driver_per_h: float,
                   horizon_h: float = 10 * HOURS_PER_YEAR, block_h: float = 24.0, traffic_cv: float = 0.0,
                   rng: np.random.Generator | None = None) -> RemainingLife:
    """RUL of samples crack_m (n,) and paris_C (n,) under a duty of driver_per_h (MPa^m per hour).

    traffic_cv: relative sd of one block's driver (a day's, 0.3 for the crane fleet, with block_h = 24).
    """
    _check(paris_m=paris_m, geometry_Y=geometry_Y, critical_m=critical_m, horizon_h=horizon_h, block_h=block_h)
    if not (math.isfinite(driver_per_h) and driver_per_h >= 0):
        raise ValueError(f"driver_per_h = {driver_per_h}: must be finite and >= 0 (Σ Δσ^m per hour, MPa^m)")
    if not (math.isfinite(traffic_cv) and traffic_cv >= 0):
        raise ValueError(f"traffic_cv = {traffic_cv}: must be finite and >= 0")
    a, C = np.broadcast_arrays(np.asarray(crack_m, float), np.asarray(paris_C, float))
    a, C = a.ravel(), C.ravel()
    n_blocks = math.ceil(horizon_h / block_h - 1e-9)
    lengths_last = horizon_h / block_h - (n_blocks - 1)
    multipliers = traffic_multipliers(n_blocks, lengths_last, traffic_cv, rng)
    failed_now = a >= critical_m
    full = np.full(a.size, 1.0)
    # a sample past the critical depth is no valid batch replica: run it from half the depth, then overwrite
    params = ReplicaParams(paris_C=C, paris_m=paris_m * full, initial_flaw_m=np.where(failed_now, critical_m / 2, a),
                           critical_m=critical_m * full, driver_per_block=driver_per_h * block_h * full)
    result = jax.device_get(run_constant_Y(params, multipliers, geometry_Y, n_blocks))
    hours = _block_to_hours(np.asarray(result.failure_block), lengths_last, n_blocks) * block_h
    status = np.asarray(result.status).copy()
    now = failed_now & (status != INVALID)
    hours[now], status[now] = 0.0, FAILED
    return RemainingLife(hours=hours, status=status, horizon_h=float(horizon_h))


def _block_to_hours(failure_block: np.ndarray, last_length: float, n_blocks: int) -> np.ndarray:
    """Fractional block index -> time in units of block_h; only the last block may be shorter."""
    in_last = failure_block > n_blocks - 1
    return np.where(in_last, (n_blocks - 1) + (failure_block - (n_blocks - 1)) * last_length, failure_block)


def _check(**positive: float) -> None:
    bad = [f"{name} = {v}: must be finite and > 0" for name, v in positive.items() if not (math.isfinite(v) and v > 0)]
    if bad:
        raise ValueError("; ".join(bad))
