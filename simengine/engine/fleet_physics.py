"""The co-simulation contract: physics advanced in bulk, crossings become events.

SimPy owns the clock. The physics of all assets sits in one pytree and is
advanced a *window* of intervals at a time (a week of hourly intervals by
default) in one jitted call, which also yields every interval's
observation. From that trajectory the engine

- schedules each threshold crossing (crack at its critical depth, Miner damage
  at 1, wear at its limit) as a SimPy event at the exact time within the
  interval,
- hands the observations to the sensor bank, whose first alarms become events,
- answers "what is the state of asset i now" by indexing, with no JAX call.

A repair that resets an asset's state re-predicts the rest of the window (one
call, for that asset alone: the others' paths do not depend on it) and cancels
the asset's pending crossings and alarms by bumping its token. Every call has
one of two shapes (window × fleet, window × one asset), padded by a validity
mask, so the step compiles twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from simengine.kinds.quantities import OBSERVABLES
from simengine.physics.asset import OBSERVATION_FIELDS, STATE_FIELDS, AssetInputs, AssetParams, advance_stacked
from simengine.physics.crack import crossing_fraction
from simengine.units import SECONDS_PER_DAY

OBS_FIELDS = OBSERVABLES  # the catalogue's order is the observation arrays' order
INPUT_FIELDS = tuple(AssetInputs.__dataclass_fields__)
_STATE_ROW = {f: i for i, f in enumerate(STATE_FIELDS)}  # rows of advance_stacked's result
_OBS_ROW = {f: len(STATE_FIELDS) + i for i, f in enumerate(OBSERVATION_FIELDS)}


@dataclass(frozen=True)
class Threshold:
    """A physics failure: `quantity` reaching `limit`."""

    quantity: str
    limit: float


class FleetPhysics:
    def __init__(self, env, params: AssetParams, state0: AssetState, duty, thresholds: list[Threshold],
                 *, dt_h: float, window_rows: int, horizon_h: float, on_crossing, sensors=None, on_alarm=None,
                 recorder=None):
        self.env, self.duty, self.thresholds = env, duty, thresholds
        self.params = jax.tree_util.tree_map(np.asarray, params)
        self.n = int(np.size(state0.crack_m))
        self._param_rows = np.stack([np.broadcast_to(np.asarray(getattr(params, f), float), (self.n,))
                                     for f in AssetParams.__dataclass_fields__])
        self.dt_h, self.W = dt_h, window_rows
        self.horizon_rows = int(math.ceil(horizon_h / dt_h - 1e-9))
        self.on_crossing, self.on_alarm = on_crossing, on_alarm
        self.sensors, self.recorder = sensors, recorder
        self.operating = np.ones(self.n, bool)  # assets out of service hold their state from the next window
        self.token = np.zeros(self.n, np.int64)
        self.row0 = 0
        self.boundary = {f: np.repeat(np.asarray(getattr(state0, f), float)[None, :], self.W + 1, 0) for f in STATE_FIELDS}
        self.obs: dict[str, np.ndarray] = {}
        self.calls = 0
        self.transmitted = 0
        self.raw_samples = 0
        self.stuck_events: list[tuple[float, int, int]] = []  # (time, asset, sensor)
        self._sensor_active = np.ones(sensors.n_sensors, bool) if sensors is not None else None
        env.process(self._windows())

    # -- the window loop -------------------------------------------------
    def _windows(self):
        for row0 in range(0, self.horizon_rows, self.W):
            if row0 > 0 and self.recorder is not None:
                self.recorder(self, self.row0)
            self._start_window(row0)
            yield self.env.timeout(self.W * self.dt_h)

    def finish(self) -> None:
        """Record the last window; call once the run has reached its horizon."""
        if self.recorder is not None:
            self.recorder(self, self.row0)

    def _start_window(self, row0: int) -> None:
        start = {f: self.boundary[f][-1].copy() for f in STATE_FIELDS}
        self.row0 = row0
        self.inputs = self.duty.inputs(row0 * self.dt_h, self.W, self.dt_h)
        self._input_rows = np.stack([np.asarray(getattr(self.inputs, f), float) for f in INPUT_FIELDS])
        rows = row0 + np.arange(self.W)
        self.valid = (rows < self.horizon_rows)[:, None] & self.operating[None, :]
        self._predict(0, start)
        everyone = np.ones(self.n, bool)
        self._schedule_crossings(0, everyone)
        self._sensor_window(0, everyone, count_volume=True)

    def _predict(self, r: int, start: dict[str, np.ndarray], asset: int | None = None) -> None:
        """Advance from boundary row r to the end of the window, in one call: the fleet, or one asset
        alone (the others' trajectories do not depend on it; each asset's column comes out bitwise the
        same whatever the batch's width)."""
        cols = slice(None) if asset is None else slice(asset, asset + 1)

        def shift(a):  # rows r.. to the front, zeros behind: the call keeps its one shape
            a = a[..., r:, cols]
            if not r:
                return a
            return np.concatenate([a, np.zeros(a.shape[:-2] + (r,) + a.shape[-1:], a.dtype)], axis=-2)

        state = np.stack([start[f][cols] for f in STATE_FIELDS])
        traj = np.asarray(advance_stacked(self._param_rows[:, cols], state, shift(self._input_rows),
                                          shift(self.valid), self.dt_h * 3600.0))
        self.calls += 1
        n_rows = self.W - r
        for f in STATE_FIELDS:
            self.boundary[f][r, cols] = start[f][cols]
            self.boundary[f][r + 1:, cols] = traj[_STATE_ROW[f], :n_rows]
        for f in OBS_FIELDS:
            new = traj[_OBS_ROW[f], :n_rows]
            if asset is None and r == 0:
                self.obs[f] = new.copy()
            else:
                self.obs[f][r:, cols] = new

    # -- crossings ---------------------------------------------------------
    def _schedule_crossings(self, r: int, assets: np.ndarray) -> None:
        for j, th in enumerate(self.thresholds):
            values = self.boundary[th.quantity][r:]  # (W + 1 - r, n): boundaries from row r
            over = (values >= th.limit) & assets[None, :]
            hit = np.flatnonzero(over.any(0))
            if hit.size == 0:
                continue
            # an asset already past its limit at the first boundary (e.g. while it was out of
            # service, or a flaw born critical) fails there and then; the fleet ignores repeats
            k = over[:, hit].argmax(0)
            before, after = values[np.maximum(k - 1, 0), hit], values[k, hit]
            if th.quantity == "crack_m":
                frac = np.asarray(crossing_fraction(before, after, th.limit, self.params.paris_m[hit]))
            else:  # damage and wear grow linearly within an interval
                frac = np.clip((th.limit - before) / np.where(after > before, after - before, 1.0), 0.0, 1.0)
            times = (self.row0 + r + np.where(k > 0, k - 1 + frac, 0.0)) * self.dt_h
            for asset, t in zip(hit.tolist(), times.tolist()):
                self._at(t, self._crossing, asset, j, int(self.token[asset]))

    def _crossing(self, asset: int, j: int, token: int) -> None:
        if self.token[asset] == token:
            self.on_crossing(asset, j)

    # -- sensors -------------------------------------------------------------
    def _sensor_window(self, r: int, assets: np.ndarray, count_volume: bool, back_in_service: bool = False) -> None:
        if self.sensors is None:
            return
        in_service = self.operating | back_in_service
        mask = self._sensor_active & assets[self.sensors.asset] & in_service[self.sensors.asset]
        report = self.sensors.window(self.obs, self.row0 * self.dt_h, start_row=r, sensors=mask, count_volume=count_volume)
        self.transmitted += report.transmitted
        self.raw_samples += report.raw_samples
        times = (self.row0 + report.alarm_row + 1) * self.dt_h  # a feature is known at the end of its interval
        for s, t, v in zip(report.alarm_sensor.tolist(), times.tolist(), report.alarm_value.tolist()):
            asset = int(self.sensors.asset[s])
            self._at(t, self._alarm, s, v, asset, int(self.token[asset]))
        self.stuck_events.extend(zip(report.stuck_time_h.tolist(), self.sensors.asset[report.stuck_sensor].tolist(),
                                     report.stuck_sensor.tolist()))

    def _alarm(self, sensor: int, value: float, asset: int, token: int) -> None:
        if self.token[asset] == token and self._sensor_active[sensor]:
            self._sensor_active[sensor] = False  # latched until the asset is repaired
            self.on_alarm(asset, sensor, value)

    # -- queries and resets ------------------------------------------------
    def state_at(self, asset: int, t_h: float) -> dict[str, float]:
        """State of `asset` at the last interval boundary at or before t_h."""
        r = min(max(int(math.floor(t_h / self.dt_h + 1e-9)) - self.row0, 0), self.W)
        return {f: float(self.boundary[f][r, asset]) for f in STATE_FIELDS}

    def reset(self, asset: int, t_h: float, **values: float) -> None:
        """An asset back in service at t_h with some of its state set anew (a repair):
        re-predict the rest of the window, re-arm its sensors' alarms."""
        if self.sensors is not None:
            self._sensor_active[self.sensors.asset == asset] = True
        self._repredict(asset, t_h, values)

    def replace_stuck_sensors(self, asset: int, t_h: float) -> int:
        """A crew on site swaps the asset's stuck sensors; they watch again from the next window
        (re-predicting now would cost a physics call per visit for a few days of coverage)."""
        if self.sensors is None:
            return 0
        stuck = np.flatnonzero((self.sensors.asset == asset) & (self.sensors.stuck_h <= t_h))
        if stuck.size:
            self.sensors.replace(stuck, t_h)
        return int(stuck.size)

    def rearm(self, asset: int, t_h: float) -> None:
        """Re-arm the asset's latched alarms (after a visit that found nothing) from t_h on."""
        if self.sensors is not None:
            self._sensor_active[self.sensors.asset == asset] = True
            self._repredict(asset, t_h, {})

    def resume(self, asset: int, t_h: float) -> None:
        """An asset back in service at t_h; its state was held since the window began."""
        r = self._row_after(t_h)
        if r < self.W and not self.valid[r, asset]:
            self._repredict(asset, t_h, {})

    def _row_after(self, t_h: float) -> int:
        return min(max(int(math.ceil(t_h / self.dt_h - 1e-9)) - self.row0, 0), self.W)

    def hold(self, asset: int, t_h: float) -> None:
        """An asset that stops carrying load at t_h (starved by an upstream outage): its state holds from
        the next interval on, not only from the next window."""
        r = self._row_after(t_h)
        if r < self.W and self.valid[r, asset]:
            self._repredict(asset, t_h, {}, running=False)

    def _repredict(self, asset: int, t_h: float, values: dict[str, float], running: bool = True) -> None:
        r = self._row_after(t_h)
        start = {f: self.boundary[f][r].copy() for f in STATE_FIELDS}
        for f, v in values.items():
            start[f][asset] = v
        self.token[asset] += 1
        if r == self.W:
            for f in STATE_FIELDS:
                self.boundary[f][r] = start[f]
            return
        self.valid[r:, asset] = (self.row0 + np.arange(r, self.W) < self.horizon_rows) & running
        self._predict(r, start, asset)
        only = np.zeros(self.n, bool)
        only[asset] = True
        self._schedule_crossings(r, only)
        self._sensor_window(r, only, count_volume=False, back_in_service=running)

    def _at(self, t_h: float, fn, *args) -> None:
        delay = max(t_h - self.env.now, 0.0)
        ev = self.env.timeout(delay)
        ev.callbacks.append(lambda _ev: fn(*args))

    # -- forecasts ---------------------------------------------------------------
    def forecast_crossings(self, assets: np.ndarray, t_from_h: np.ndarray, states: list[dict[str, float]],
                           quantity: list[str], limit: np.ndarray) -> np.ndarray:
        """When each (asset, state at t_from) would have reached its limit under the run's own
        loads had nothing been done: the failure that a repair prevented. +inf if not within
        the horizon.

        Forecasts step a day at a time (inputs summed over the day: exact at day boundaries
        for crack growth and Miner damage), starting at the first day boundary after t_from,
        so the <24 h before it are not loaded. Items are batched in fleet-sized groups so the
        step keeps its one compiled shape.
        """
        out = np.full(len(assets), np.inf)
        for g in range(0, len(assets), self.n):
            sl = slice(g, min(g + self.n, len(assets)))
            out[sl] = self._forecast_group(np.asarray(assets[sl]), np.asarray(t_from_h[sl]), states[sl],
                                           list(quantity[sl]), np.asarray(limit[sl], float))
        return out

    def _daily_inputs(self, day0: int, cols: np.ndarray) -> np.ndarray:
        """Inputs (fields, W, n) a day per row, for the assets `cols`."""
        per_day = int(round(24.0 / self.dt_h))
        hourly = self.duty.inputs(day0 * 24.0, self.W * per_day, self.dt_h)
        summed = {"paris_driver", "miner_increment"}

        def reduce(name):
            a = np.asarray(getattr(hourly, name))[:, cols].reshape(self.W, per_day, -1)
            return a.sum(1) if name in summed else a.mean(1)

        return np.stack([reduce(f) for f in INPUT_FIELDS])

    def _advance(self, param_rows, start: dict[str, np.ndarray], inputs: np.ndarray, valid, dt_s: float):
        """States after each row (fields, W, n) and the end state, from one call."""
        traj = np.asarray(advance_stacked(param_rows, np.stack([start[f] for f in STATE_FIELDS]), inputs, valid, dt_s))
        states = traj[:len(STATE_FIELDS)]
        return states, {f: states[i, -1] for i, f in enumerate(STATE_FIELDS)}

    def _forecast_group(self, assets, t_from_h, states, quantity, limit):
        k, n = len(assets), self.n
        cols = np.concatenate([assets, np.zeros(n - k, int)])
        param_rows = self._param_rows[:, cols]
        start = {f: np.array([s[f] for s in states] + [states[0][f]] * (n - k)) for f in STATE_FIELDS}
        qi = np.array([STATE_FIELDS.index(q) for q in quantity])
        result = np.full(k, np.inf)
        crossed = self._crossing_finder(qi, limit, self.params.paris_m[assets], result)

        # hour by hour up to the next day boundary, each item on its own clock
        first_row = np.floor(t_from_h / self.dt_h + 1e-9).astype(int)
        per_day = int(round(24.0 / self.dt_h))
        partial = (-first_row) % per_day
        inputs = self._rows_per_item(first_row, cols, k)
        rows = np.arange(self.W)[:, None]
        valid = (rows < np.concatenate([partial, np.zeros(n - k, int)])[None, :]) \
            & (rows + np.concatenate([first_row, np.zeros(n - k, int)])[None, :] < self.horizon_rows)
        traj, end = self._advance(param_rows, start, inputs, valid, self.dt_h * 3600.0)
        crossed(start, traj, first_row * self.dt_h, self.dt_h)
        start = end

        # then a day at a time
        first_day = np.concatenate([(first_row + partial) // per_day, np.full(n - k, 1 << 40)])
        horizon_days = self.horizon_rows / per_day
        day0 = int(first_day[:k].min())
        while day0 < horizon_days and np.isinf(result).any():
            days = day0 + np.arange(self.W)
            valid = (days[:, None] >= first_day[None, :]) & (days < horizon_days)[:, None]
            traj, end = self._advance(param_rows, start, self._daily_inputs(day0, cols), valid, SECONDS_PER_DAY)
            crossed(start, traj, np.full(k, day0 * 24.0), 24.0)
            start = end
            day0 += self.W
        result[result > self.horizon_rows * self.dt_h] = np.inf  # beyond the horizon is not "prevented"
        return result

    def _rows_per_item(self, first_row: np.ndarray, cols: np.ndarray, k: int) -> np.ndarray:
        """Inputs (fields, W, n) where column i holds asset cols[i]'s rows from first_row[i] on
        (one duty call per distinct first row)."""
        out = np.zeros((len(INPUT_FIELDS), self.W, self.n))
        for row in np.unique(first_row[:k]).tolist():
            rows = self.duty.inputs(row * self.dt_h, self.W, self.dt_h)
            items = np.flatnonzero(first_row[:k] == row)
            for j, f in enumerate(INPUT_FIELDS):
                out[j][:, items] = np.asarray(getattr(rows, f))[:, cols[items]]
        return out

    @staticmethod
    def _crossing_finder(qi, limit, paris_m, result):
        """A function that fills `result` with the first crossing times found in a trajectory."""
        k = len(qi)

        def crossed(start, traj, t_row0_h, row_h):
            values = np.concatenate([np.stack([start[f][:k] for f in STATE_FIELDS])[:, None, :], traj[:, :, :k]], axis=1)
            mine = values[qi, :, np.arange(k)]  # (k, W + 1): each item's own quantity
            over = (mine[:, 1:] >= limit[:, None]) & np.isinf(result)[:, None]
            hit = np.flatnonzero(over.any(1))
            if hit.size == 0:
                return
            r = over[hit].argmax(1)
            b, a = mine[hit, r], mine[hit, r + 1]
            frac = np.clip((limit[hit] - b) / np.where(a > b, a - b, 1.0), 0.0, 1.0)  # damage, wear: linear
            crack = np.flatnonzero(qi[hit] == 0)  # only cracks need the Paris integral (JAX, per shape)
            if crack.size:
                frac[crack] = np.asarray(crossing_fraction(b[crack], a[crack], limit[hit][crack], paris_m[hit][crack]))
            result[hit] = t_row0_h[hit] + (r + frac) * row_h

        return crossed
