"""A fleet's sensors as flat arrays, behind one interface for both fidelities.

Each :class:`~simengine.config.scenario.SensorConfig` is installed `per_asset`
times on every asset (at t = 0 h). Times are in hours, values in the sensor's
unit. In row h of a window starting at t0 (rows of dt hours), sensor s sees

    μ[h, s] = gain · obs[observable][h, asset] + bias + drift · (t0 + (h + ½) dt − install),

bias ~ N(0, bias_sd) and drift ~ N(0, drift_sd_per_h) drawn at install, and
n = sample_rate_hz · 3600 · dt samples per row. A sensor sticks at install +
Exponential(mean 1 / stuck_rate_per_h) and is stuck in every row from the one
holding that time on: there it never alarms and sends heartbeats only.

`fidelity="raw"` generates the samples (:mod:`simengine.sensors.raw`);
`fidelity="feature"` draws only what decisions need from exact distributions
(:mod:`simengine.sensors.feature_level`). All randomness comes from the `rng`
given, so one seed gives one history.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from simengine.config.scenario import SensorConfig
from simengine.kinds.quantities import OBSERVABLES
from simengine.sensors.feature_level import FeatureLevel
from simengine.sensors.features import FEATURE_KINDS, effective_sigma
from simengine.sensors.raw import RawLevel

FIDELITIES = ("feature", "raw")


@dataclass(frozen=True)
class WindowReport:
    """What the sensors did in rows [start_row, W) of one window (sensor indices into the bank)."""

    alarm_sensor: np.ndarray  # int: first firing per sensor, ascending
    alarm_row: np.ndarray  # int
    alarm_value: np.ndarray  # float: the feature that fired
    stuck_sensor: np.ndarray  # int: sensors sticking in these rows
    stuck_time_h: np.ndarray
    transmitted: int  # values sent by the edge
    raw_samples: int  # samples taken

    def __eq__(self, other):
        if not isinstance(other, WindowReport):
            return NotImplemented
        return all(np.array_equal(getattr(self, k), getattr(other, k), equal_nan=True) for k in self.__dataclass_fields__)

    __hash__ = None


def _empty_report():
    e = np.zeros(0, np.int64)
    return WindowReport(e, e, np.zeros(0), e, np.zeros(0), 0, 0)


class SensorBank:
    """Every sensor of a fleet; see the module docstring for the model."""

    def __init__(self, sensors: tuple[SensorConfig, ...], n_assets: int, dt_h: float, fidelity: str, rng: np.random.Generator):
        problems = []
        if fidelity not in FIDELITIES:
            problems.append(f"fidelity = {fidelity!r}: must be one of {', '.join(FIDELITIES)}")
        if not n_assets >= 1:
            problems.append(f"n_assets = {n_assets!r}: must be at least 1")
        if not dt_h > 0:
            problems.append(f"dt_h = {dt_h!r}: must be positive")
        for i, c in enumerate(sensors):
            if dt_h > 0 and c.sample_rate_hz * 3600.0 * dt_h < 0.5:
                problems.append(f"sensors[{i}].sample_rate_hz = {c.sample_rate_hz!r}: needs at least one sample per row of {dt_h} h")
        if problems:
            raise ValueError("; ".join(problems))
        self.configs = tuple(sensors)
        self.n_assets, self.dt_h, self.fidelity, self._rng = int(n_assets), float(dt_h), fidelity, rng
        reps = [c.per_asset * self.n_assets for c in sensors]
        self.n_sensors = int(sum(reps))

        def per_sensor(fn, dtype=float):
            return np.repeat(np.array([fn(c) for c in sensors], dtype=dtype), reps).astype(dtype)

        self.config_index = np.repeat(np.arange(len(sensors)), reps)
        self.asset = np.concatenate([np.repeat(np.arange(self.n_assets), c.per_asset) for c in sensors]) if sensors else np.zeros(0, np.int64)
        self.observable = per_sensor(lambda c: OBSERVABLES.index(c.observes), np.int64)
        self.gain = per_sensor(lambda c: c.gain)
        self.noise_sd = per_sensor(lambda c: c.noise_sd)
        self.bias_sd = per_sensor(lambda c: c.bias_sd)
        self.drift_sd = per_sensor(lambda c: c.drift_sd_per_h)
        self.quantisation = per_sensor(lambda c: c.quantisation)
        self.dropout = per_sensor(lambda c: c.dropout)
        self.stuck_rate = per_sensor(lambda c: c.stuck_rate_per_h)
        self.n_samples = per_sensor(lambda c: max(1, round(c.sample_rate_hz * 3600.0 * dt_h)), np.int64)
        self.kind = per_sensor(lambda c: FEATURE_KINDS.index(c.feature), np.int64)
        self.deadband = per_sensor(lambda c: c.deadband)
        self.heartbeat_h = per_sensor(lambda c: c.heartbeat_h)
        self.alarm_level = per_sensor(lambda c: np.nan if c.alarm is None else c.alarm.level)
        self.alarm_above = per_sensor(lambda c: c.alarm is None or c.alarm.direction == "above", bool)
        self.has_alarm = ~np.isnan(self.alarm_level)
        self.sigma_eff = effective_sigma(self.noise_sd, self.quantisation)
        used = sorted(set(self.observable.tolist()))
        self.used_observables = tuple(OBSERVABLES[o] for o in used)
        self.slot = np.searchsorted(np.array(used, np.int64), self.observable) if used else self.observable
        self.bias = np.zeros(self.n_sensors)
        self.drift = np.zeros(self.n_sensors)
        self.install_h = np.zeros(self.n_sensors)
        self.stuck_h = np.full(self.n_sensors, np.inf)
        self._install(np.arange(self.n_sensors), 0.0)
        self._samples_all = int(self.n_samples.sum())
        self._model = RawLevel(self) if fidelity == "raw" else FeatureLevel(self)

    @property
    def rng(self) -> np.random.Generator:
        return self._rng

    def _install(self, idx, t_h):
        m = idx.size
        self.bias[idx] = self.bias_sd[idx] * self._rng.standard_normal(m)
        self.drift[idx] = self.drift_sd[idx] * self._rng.standard_normal(m)
        self.install_h[idx] = t_h
        rate = self.stuck_rate[idx]
        with np.errstate(divide="ignore"):
            self.stuck_h[idx] = t_h + np.where(rate > 0, self._rng.exponential(1.0, m) / np.where(rate > 0, rate, 1.0), np.inf)

    def replace(self, sensor_idx: np.ndarray, t_h: float) -> None:
        """A crew replaced or recalibrated these sensors at `t_h`: new bias, drift, stuck time; edge state reset."""
        idx = np.unique(np.asarray(sensor_idx, np.int64))
        if idx.size and (idx[0] < 0 or idx[-1] >= self.n_sensors):
            raise ValueError(f"sensor_idx = {idx.tolist()}: must lie in [0, {self.n_sensors})")
        self._install(idx, float(t_h))
        self._model.reset(idx)

    def stack(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """Observables used by the sensors as one array (W, n_used, n_assets), checked."""
        problems, arrays = [], []
        for name in self.used_observables:
            if name not in obs:
                problems.append(f"obs[{name!r}]: missing (a sensor observes it)")
                continue
            a = np.asarray(obs[name], float)
            if a.ndim != 2 or a.shape[1] != self.n_assets or (arrays and a.shape[0] != arrays[0].shape[0]):
                problems.append(f"obs[{name!r}].shape = {a.shape}: must be (W, {self.n_assets}) with one W for all")
            arrays.append(a)
        if problems:
            raise ValueError("; ".join(problems))
        return np.stack(arrays, axis=1)

    def mu_at(self, stack, t0_h, rows, sensors):
        """μ at rows × sensors (broadcasting integer index arrays)."""
        t_mid = t0_h + (rows + 0.5) * self.dt_h
        return (self.gain[sensors] * stack[rows, self.slot[sensors], self.asset[sensors]]
                + self.bias[sensors] + self.drift[sensors] * (t_mid - self.install_h[sensors]))

    def stuck_row(self, t0_h: float) -> np.ndarray:
        """Per sensor, the first row (float; ±inf allowed) of this window in which it is stuck."""
        return np.floor((self.stuck_h - t0_h) / self.dt_h)

    def window(self, obs: dict[str, np.ndarray], t0_h: float, *, start_row: int = 0,
               sensors: np.ndarray | None = None, count_volume: bool = True) -> WindowReport:
        """Alarms, sticking sensors and edge volume over rows [start_row, W) of one window.

        obs maps each observable to (W, n_assets) values per row; row h spans
        [t0 + h dt, t0 + (h + 1) dt). `sensors` masks the sensors considered.
        Calling again for the same t0 with a later start_row re-predicts those rows.
        """
        if self.n_sensors == 0:
            return _empty_report()
        stack = self.stack(obs)
        n_rows = stack.shape[0]
        if not 0 <= start_row <= n_rows:
            raise ValueError(f"start_row = {start_row!r}: must lie in [0, {n_rows}]")
        if sensors is None:
            mask = np.ones(self.n_sensors, bool)
        else:
            mask = np.asarray(sensors)
            if mask.shape != (self.n_sensors,) or mask.dtype != bool:
                raise ValueError(f"sensors: a bool mask of shape ({self.n_sensors},) needed, got {mask.dtype} {mask.shape}")
        stuck_row = self.stuck_row(t0_h)
        stuck = np.flatnonzero(mask & (stuck_row >= start_row) & (stuck_row < n_rows))
        if start_row == n_rows:
            return dataclasses.replace(_empty_report(), stuck_sensor=stuck, stuck_time_h=self.stuck_h[stuck].copy())
        alarm_s, alarm_r, alarm_v, sent = self._model.window(stack, float(t0_h), int(start_row), mask, stuck_row,
                                                             count_volume)
        order = np.argsort(alarm_s, kind="stable")
        samples = self._samples_all if sensors is None else int(self.n_samples[mask].sum())
        return WindowReport(
            alarm_sensor=alarm_s[order].astype(np.int64), alarm_row=alarm_r[order].astype(np.int64),
            alarm_value=alarm_v[order].astype(float), stuck_sensor=stuck, stuck_time_h=self.stuck_h[stuck].copy(),
            transmitted=int(sent) if count_volume else 0,
            raw_samples=samples * (n_rows - int(start_row)) if count_volume else 0)

    def features(self, obs: dict[str, np.ndarray], t0_h: float, sensor_idx: np.ndarray) -> np.ndarray:
        """Row features (W, len(sensor_idx)) for recording: drawn (feature fidelity) or computed from samples (raw)."""
        idx = np.asarray(sensor_idx, np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_sensors):
            raise ValueError(f"sensor_idx = {idx.tolist()}: must lie in [0, {self.n_sensors})")
        if self.n_sensors == 0:
            return np.zeros((0, 0))
        return self._model.features(self.stack(obs), float(t0_h), idx)
