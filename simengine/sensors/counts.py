"""Feature fidelity: how many values the edge sends, counted without samples.

Per window (rows of dt hours) and considered sensor:

- deadband 0: every unstuck row is sent (exact);
- rows at and after the stuck row: heartbeats only, every P = ⌈heartbeat_h/dt⌉
  rows from the last transmission (exact; a sensor that worked through the row
  before it stuck is taken to have sent that row, exact for deadband 0);
- otherwise Binomial(rows, rate(ρ, τ)): the stationary rate of the deadband
  chain for i.i.d. row noise on a linear trend
  (:func:`~simengine.sensors.edge.deadband_rate`), at ρ = deadband / sd(feature)
  and τ = (|gain| · mean |Δobs| + |drift| dt) / sd(feature), sd(feature) from
  :func:`~simengine.sensors.features.feature_sd` (RMS: at the window's mean μ).
  This is an approximation: its mean is right for a steady or trending μ
  (within about 3 % in tests); a μ that jumps about from row to row is treated
  as a trend of the same mean step.

Sensors of one configuration on one asset share their rate unless their drift
(or, for RMS, their bias) differs, so rates are computed per such unit. Past
256 units only the total is drawn, from its normal limit (same mean and
variance): numpy's binomial costs about 0.1 µs a draw, too much per window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simengine.sensors.edge import deadband_rate, heartbeat_period, heartbeat_rows
from simengine.sensors.features import MAX, RMS, feature_sd

EXACT_UNITS = 256


@dataclass
class _Units:
    """Deadband sensors sharing one rate table (feature law, n, P), grouped into units of equal rate."""

    sensors: np.ndarray
    unit_of: np.ndarray | None  # per sensor; None when every sensor is its own unit
    rep: np.ndarray  # a sensor per unit
    kind: int
    n_eff: int
    period: int
    obs: np.ndarray  # per unit: slot · n_assets + asset
    abs_gain: np.ndarray
    inv_sd: np.ndarray  # per unit (RMS: its sd is worked out per window instead)
    rho: np.ndarray


def _units(bank, sensors, kind, n_eff, period):
    b = bank
    cfg = b.config_index[sensors]
    shared = np.array([c.drift_sd_per_h == 0 and (kind != RMS or c.bias_sd == 0) for c in b.configs])[cfg]
    key = np.where(shared, cfg * b.n_assets + b.asset[sensors], len(b.configs) * b.n_assets + np.arange(sensors.size))
    _, first, unit_of = np.unique(key, return_index=True, return_inverse=True)
    rep = sensors[first]
    sd = np.ones(rep.size) if kind == RMS else feature_sd(kind, 0.0, b.noise_sd[rep], b.quantisation[rep], b.n_samples[rep], b.dropout[rep])
    sd = np.maximum(sd, 1e-300)
    return _Units(sensors, None if rep.size == sensors.size else unit_of.ravel(), rep, kind, n_eff, period,
                  b.slot[rep] * b.n_assets + b.asset[rep], np.abs(b.gain[rep]), 1.0 / sd, b.deadband[rep] / sd)


class EdgeCounts:
    """Transmitted-value counts of a feature-fidelity :class:`~simengine.sensors.bank.SensorBank`."""

    def __init__(self, bank):
        b = self.bank = bank
        self.last_time = np.full(b.n_sensors, -np.inf)  # last transmission of stuck sensors, h
        self._last_at_start = self.last_time.copy()
        self._t0 = None
        self.dead0 = b.deadband == 0
        self.period = heartbeat_period(b.heartbeat_h, b.dt_h)
        db = np.flatnonzero(~self.dead0)
        n_eff = np.maximum(1, np.round(b.n_samples * (1 - b.dropout))).astype(np.int64)
        law_n = np.where(b.kind == MAX, n_eff, 0)
        keys = np.stack([b.kind[db], law_n[db], self.period[db]], axis=1)
        self.groups = []
        for key in np.unique(keys, axis=0):
            sensors = db[(keys == key).all(axis=1)]
            self.groups.append(_units(b, sensors, int(key[0]), int(key[1]), int(key[2])))
        self._n_units = sum(g.rep.size for g in self.groups)

    def reset(self, idx):
        self.last_time[idx] = -np.inf
        self._last_at_start[idx] = -np.inf

    def count(self, stack, t0_h, start_row, mask, stuck_row, wanted: bool = True) -> int:
        """Values sent over rows [start_row, W) by the sensors in `mask`; advances the heartbeat state.
        Unless `wanted`, the deadband sensors' values (not the heartbeats) are left out of the count."""
        b, n_rows = self.bank, stack.shape[0]
        if self._t0 != t0_h:
            self._t0 = t0_h
            self._last_at_start = self.last_time.copy()
        if start_row == n_rows:
            return 0
        normal = np.clip(np.minimum(stuck_row, n_rows) - start_row, 0, n_rows - start_row)  # unstuck rows
        total = int(normal[mask & self.dead0].sum())
        if self.groups:
            total += self._deadband(stack, t0_h, start_row, mask, normal, wanted)
        stuck = np.flatnonzero(mask & (stuck_row < n_rows))
        if stuck.size:
            sr = stuck_row[stuck]
            first = np.maximum(sr, 0)
            ran = (sr >= 0) & (t0_h + sr * b.dt_h > b.install_h[stuck])  # it worked through the row before sticking
            before = np.where(ran, t0_h + sr * b.dt_h, self._last_at_start[stuck])
            count, last = heartbeat_rows(before, t0_h, b.dt_h, b.heartbeat_h[stuck], first, np.maximum(first, start_row), n_rows)
            total += int(count.sum())
            self.last_time[stuck] = last
        return total

    def _deadband(self, stack, t0_h, start_row, mask, normal, wanted=True):
        """Deadband sensors' values sent. Unless `wanted`, only the random draws are made (0 is returned):
        the stream then stands where a wanted count leaves it, for less work on a mask of one asset."""
        b = self.bank
        block = stack[start_row:]
        step = (np.abs(np.diff(block, axis=0)).sum(axis=0) / block.shape[0]).ravel()  # mean |Δobs| per row
        exact = self._n_units <= EXACT_UNITS
        if not wanted and not exact:
            b.rng.standard_normal()  # the total's one draw, whatever the mask
            return 0
        mean_obs = block.mean(axis=0).ravel() if any(g.kind == RMS for g in self.groups) else None
        rows, rates = [], []
        for g in self.groups:
            r = normal[g.sensors] * mask[g.sensors]
            r = r if g.unit_of is None else np.bincount(g.unit_of, weights=r, minlength=g.rep.size)
            # a binomial of 0 rows draws nothing, so unwanted, units without rows need no rate
            u = slice(None) if wanted else np.flatnonzero(r)
            rep, obs = g.rep[u], g.obs[u]
            if g.kind == RMS:
                mu = b.gain[rep] * mean_obs[obs] + b.bias[rep] + b.drift[rep] * (
                    t0_h + 0.5 * (start_row + stack.shape[0]) * b.dt_h - b.install_h[rep])
                sd = np.maximum(feature_sd(RMS, mu, b.noise_sd[rep], b.quantisation[rep], b.n_samples[rep], b.dropout[rep]), 1e-300)
                inv_sd, rho = 1.0 / sd, b.deadband[rep] / sd
            else:
                inv_sd, rho = g.inv_sd[u], g.rho[u]
            trend = g.abs_gain[u] * step[obs] + np.abs(b.drift[rep]) * b.dt_h
            rates.append(np.minimum(deadband_rate(rho, trend * inv_sd, g.kind, g.n_eff, g.period), 1.0))
            rows.append(r[u])
        rows, rate = np.concatenate(rows), np.concatenate(rates)
        if exact:
            sent = int(b.rng.binomial(rows.astype(np.int64), rate).sum())
            return sent if wanted else 0
        mean, var = rows * rate, rows * rate * (1.0 - rate)
        return int(np.clip(np.rint(mean.sum() + np.sqrt(var.sum()) * b.rng.standard_normal()), 0, rows.sum()))
