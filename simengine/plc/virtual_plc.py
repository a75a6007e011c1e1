"""The virtual PLC's data: sensor readings of chosen assets from the physics core.

A scenario's assets are simulated with hidden "true" parameters (the
scenario's, optionally overridden, e.g. ``{"thermal_tau_s": 1500.0}``) and
their sensors are sampled with the scenario's noise, quantisation and
dropout: what a real PLC would report. Each `step(dt_s)` advances the
physics by dt_s seconds of simulated time (a time factor > 1 runs faster
than real time) with the same jitted step the engine uses, and returns one
sample per tag. Within an hour the crane follows its lift cycle: it hoists
for the first half of each cycle, with the container's load on the boom,
and returns empty for the second. While hoisting, the motor's losses are
proportional to the load (`hoist_heat_W` at rated load: each tonne lifted
dissipates ``heat_J_per_t``), so the motor temperature moves as a real one
does, a model can take the measured load as its input, and the strain
gauges see one stress cycle per lift. The motor starts cold (at ambient),
as at the start of a shift.

The tag map it serves is derived from the scenario: one float32 tag per
sensor (holding registers from 0, two per tag; OPC UA node ``ns=2;s=<name>``);
for a crane, one load counter per asset, ``<kind><NN>.load_time_s`` (float64,
the hoisted load factor integrated over time, in rated-load seconds, as a
crane's load-spectrum recorder counts it); and last the PLC's clock,
``<kind>.plc_clock_s`` (float64, simulated seconds of each scan), as many
PLCs expose one: a reader can place its readings at the scan's time rather
than at their arrival. A counter makes sampled data lossless where a sample
cannot be: the load over scans a reader missed is the counter's increase
over them, where the load sampled at either end is only a guess.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from simengine.config.scenario import ScenarioConfig
from simengine.engine.physics_setup import build_duty, build_params, initial_state
from simengine.engine.simulation import replica_streams
from simengine.kinds.crane import CRANE
from simengine.kinds.lift_duty import LiftDuty
from simengine.kinds.quantities import PHYSICAL_RANGE, UNITS
from simengine.physics.asset import AssetInputs, AssetState, observe, step
from simengine.plc.tags import TagMap, tagmap_from_dict
from simengine.sensors.features import quantise
from simengine.units import HOURS_PER_YEAR

CLOCK = "clock_s"  # the quantity of a tag holding the PLC's time of each scan
LOAD_COUNTER = "load_time_s"  # the quantity of a tag counting the hoisted load-time (rated-load seconds)
STALE_AFTER_S = 10.0  # a noisy sensor whose value stops changing for this long is frozen

_step = jax.jit(step)
_observe = jax.jit(observe)


class PhysicsSource:
    def __init__(self, scenario: ScenarioConfig, assets: list[int] | None = None, *, seed: int = 0,
                 true_params: dict[str, float] | None = None, start_h: float = 0.0,
                 initial_crack_m: float | None = None):
        fleet = scenario.fleet
        self.assets = np.asarray(assets if assets is not None else [0], int)
        bad = [a for a in self.assets.tolist() if not 0 <= a < fleet.count]
        if bad:
            raise ValueError(f"assets = {bad}: must lie in [0, {fleet.count}) for scenario {scenario.name!r}")
        rng = replica_streams(seed, 0)
        params = jax.tree_util.tree_map(lambda x: np.asarray(x)[self.assets], build_params(fleet, rng["physics"]))
        unknown = sorted(set(true_params or {}) - {f.name for f in dataclasses.fields(params)})
        if unknown:
            raise ValueError(f"true_params {unknown}: unknown; known: {[f.name for f in dataclasses.fields(params)]}")
        self.params = dataclasses.replace(params, **{k: np.full(self.assets.size, float(v)) for k, v in (true_params or {}).items()})
        self.duty = build_duty(fleet, scenario.horizon_years * HOURS_PER_YEAR, rng["duty"])
        self.rng = rng["sensors"]
        self._cycle, self._lift_t = -1, np.zeros(self.assets.size)
        self.load_time_s = np.zeros(self.assets.size) if isinstance(self.duty, LiftDuty) else None
        state = initial_state(fleet, rng["physics"])
        crack = np.asarray(state.crack_m)[self.assets] if initial_crack_m is None else np.full(self.assets.size, float(initial_crack_m))
        if not np.all((crack > 0) & (crack < np.asarray(self.params.section_depth_m))):
            raise ValueError(f"initial_crack_m = {initial_crack_m}: must lie in (0, section depth {fleet.crack.section_depth_m} m)")
        self.state = AssetState(crack, np.zeros(self.assets.size), np.zeros(self.assets.size), np.zeros(self.assets.size))
        self.t_s = start_h * 3600.0
        self.state = dataclasses.replace(self.state, temp_C=self._inputs(1.0).ambient_C.copy())  # a cold start
        self._sensors = [(cfg, k, i) for i in range(self.assets.size) for cfg in fleet.sensors for k in range(cfg.per_asset)]
        self.bias = np.array([rng["sensors"].normal(0.0, cfg.bias_sd) for cfg, _, _ in self._sensors])
        per = [(cfg.gain, cfg.noise_sd, cfg.quantisation, cfg.dropout) for cfg, _, _ in self._sensors]
        self._gain, self._noise, self._quant, self._dropout = (np.array(col, float) for col in zip(*per)) if per else [np.zeros(0)] * 4
        self._observes = [cfg.observes for cfg, _, _ in self._sensors]
        self._asset_of = np.array([i for _, _, i in self._sensors], int)
        self.kind = fleet.kind


    def tagmap(self) -> TagMap:
        tags = []
        for n, (cfg, k, i) in enumerate(self._sensors):
            name = f"{self.kind}{int(self.assets[i]):02d}.{cfg.name}.{k}"
            lo, hi = sorted(cfg.gain * np.asarray(PHYSICAL_RANGE[cfg.observes]))
            margin = 6.0 * cfg.noise_sd + 6.0 * cfg.bias_sd + cfg.quantisation
            tags.append({"name": name, "quantity": cfg.observes, "asset": int(self.assets[i]), "unit": cfg.unit or UNITS[cfg.observes],
                         "dtype": "float32", "valid_min": float(lo - margin), "valid_max": float(hi + margin),
                         "stale_after_s": STALE_AFTER_S if cfg.noise_sd > 0 else None,
                         "modbus": {"address": 2 * n}, "opcua": {"node_id": f"ns=2;s={name}"}})
        address = 2 * len(self._sensors)
        for a in self.assets.tolist() if self.load_time_s is not None else []:
            name = f"{self.kind}{a:02d}.{LOAD_COUNTER}"
            tags.append({"name": name, "quantity": LOAD_COUNTER, "asset": a, "unit": "s", "dtype": "float64",
                         "valid_min": 0.0, "modbus": {"address": address}, "opcua": {"node_id": f"ns=2;s={name}"}})
            address += 4
        name = f"{self.kind}.plc_clock_s"
        tags.append({"name": name, "quantity": CLOCK, "asset": int(self.assets[0]), "unit": "s", "dtype": "float64",
                     "modbus": {"address": address}, "opcua": {"node_id": f"ns=2;s={name}"}})
        return tagmap_from_dict({"name": f"virtual-{self.kind}", "tags": tags})

    def _inputs(self, dt_s: float) -> AssetInputs:
        """Physics inputs of the next dt_s seconds for the chosen assets."""
        hourly = self.duty.inputs(self.t_s / 3600.0, 1, dt_s / 3600.0)
        pick = {f: np.asarray(getattr(hourly, f))[0, self.assets] for f in AssetInputs.__dataclass_fields__}
        if isinstance(self.duty, LiftDuty):
            if dt_s < 3600.0 / self.duty.cfg.lifts_per_h:
                pick.update(self._lift_cycle(dt_s))
            else:  # the mean over whole lift cycles, of which the load is on the boom for half
                pick["load_factor"] = 0.5 * pick["load_factor"]
        return AssetInputs(**pick)

    @property
    def hoist_heat_W(self) -> float:
        return CRANE.heat_at_rated_load_W(self.duty.cfg)

    def _lift_cycle(self, dt_s: float) -> dict[str, np.ndarray]:
        """Within a lift cycle the hoist lifts for the first half (heat ∝ load, the container's load on
        the boom) and returns empty for the second. Each lift draws its load class."""
        c = self.duty.cfg
        period_s = 3600.0 / c.lifts_per_h
        cycle = int(self.t_s // period_s)
        if cycle != self._cycle:
            self._cycle = cycle
            self._lift_t = self.rng.choice(np.asarray(c.load_classes_t), size=self.assets.size, p=np.asarray(c.load_probs))
        lifting = (self.t_s % period_s) < period_s / 2
        load = self._lift_t / c.rated_load_t
        heat = self.hoist_heat_W * load * _lifting_share(self.t_s, dt_s, period_s)
        return {"heat_W": heat, "load_factor": load if lifting else np.zeros(self.assets.size)}

    def step(self, dt_s: float = 1.0) -> np.ndarray:
        """Advance by dt_s simulated seconds; one sample per tag (NaN where a sample was lost): the sensors,
        the load counters, the clock last."""
        inputs = self._inputs(dt_s)
        self.state = jax.device_get(_step(self.params, self.state, inputs, dt_s))
        obs = jax.device_get(_observe(self.params, self.state, inputs))
        self.t_s += dt_s
        counters = []
        if self.load_time_s is not None:  # the load that heated the motor: heat = hoist_heat_W x load
            self.load_time_s = self.load_time_s + np.asarray(inputs.heat_W) / self.hoist_heat_W * dt_s
            counters = self.load_time_s
        return np.concatenate([self.sample(obs), counters, [self.t_s]])

    def truth(self) -> dict[str, np.ndarray]:
        """The hidden state (for tests and calibration checks)."""
        return {f: np.asarray(getattr(self.state, f)) for f in AssetState.__dataclass_fields__}

    def sample(self, obs) -> np.ndarray:
        physical = np.array([np.asarray(getattr(obs, q))[i] for q, i in zip(self._observes, self._asset_of)])
        out = quantise(self._gain * physical + self.bias + self._noise * self.rng.standard_normal(physical.size),
                       self._quant)
        out[self.rng.random(out.size) < self._dropout] = np.nan
        return out


def _lifting_share(t0_s: float, dt_s: float, period_s: float) -> float:
    """Share of [t0, t0 + dt] spent in the lifting (first) half of lift cycles of `period_s`."""
    def lifted_until(t):  # lifting time in [0, t]
        return np.floor(t / period_s) * period_s / 2 + min(t % period_s, period_s / 2)

    return float((lifted_until(t0_s + dt_s) - lifted_until(t0_s)) / dt_s)
