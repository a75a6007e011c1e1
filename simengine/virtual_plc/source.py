"""The virtual PLC's data: sensor readings of chosen assets from the physics core.

A scenario's assets are simulated with hidden "true" parameters (the
scenario's, optionally overridden, e.g. ``{"thermal_tau_s": 1500.0}``) and
their sensors are sampled with the scenario's noise, quantisation and
dropout: what a real PLC would report. Each `step(dt_s)` advances the
physics by dt_s seconds of simulated time (a time factor > 1 runs faster
than real time) with the same jitted step the engine uses, and returns one
sample per tag of `tagmap()` (`simengine.virtual_plc.tagmap`). Everything
about the asset comes from its kind (`simengine.kinds`): the duty, the
parameters and initial state, the counters, and, where the kind has one, its
load cycle within the hour (a crane's lifts: `simengine.kinds.lift_cycle`),
so that a scan sees the load rise and fall, a model can take the measured
load as its input, and the strain gauges see one stress cycle per lift.
The heated component starts cold (at ambient), as at the start of a shift.

Counters: ``load_time_s`` (`simengine.plc.tags.LOAD_COUNTER`) integrates the
load that heats: heat / the kind's heat at rated load, where the kind has a
heating model (`AssetKind.heat_at_rated_load_W`), else the load factor.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import replica_streams
from simengine.kinds.base import load_cycle
from simengine.kinds.registry import kind_of
from simengine.physics.asset import AssetInputs, AssetState, observe, step
from simengine.plc.tags import LOAD_COUNTER, TagMap
from simengine.sensors.features import quantise
from simengine.units import HOURS_PER_YEAR
from simengine.virtual_plc.tagmap import served_tagmap

COUNTABLE = (LOAD_COUNTER,)  # the counters the virtual PLC knows how to count

_step = jax.jit(step)
_observe = jax.jit(observe)


class PhysicsSource:
    def __init__(self, scenario: ScenarioConfig, assets: list[int] | None = None, *, seed: int = 0,
                 true_params: dict[str, float] | None = None, start_h: float = 0.0,
                 initial_crack_m: float | None = None):
        fleet = scenario.fleet
        kind = kind_of(fleet)
        settings = fleet.duty.settings
        self.assets = np.asarray(assets if assets is not None else [0], int)
        bad = [a for a in self.assets.tolist() if not 0 <= a < fleet.count]
        if bad:
            raise ValueError(f"assets = {bad}: must lie in [0, {fleet.count}) for scenario {scenario.name!r}")
        uncountable = [c.quantity for c in kind.plc_counters if c.quantity not in COUNTABLE]
        if uncountable:
            raise ValueError(f"asset kind {kind.name} declares PLC counters {uncountable}; the virtual PLC counts "
                             f"{', '.join(COUNTABLE)}")
        rng = replica_streams(seed, 0)
        params = jax.tree_util.tree_map(lambda x: np.asarray(x)[self.assets], kind.build_params(fleet, rng["physics"]))
        known = [f.name for f in dataclasses.fields(params)]
        unknown = sorted(set(true_params or {}) - set(known))
        if unknown:
            raise ValueError(f"true_params {unknown}: unknown; known: {known}")
        self.params = dataclasses.replace(params, **{k: np.full(self.assets.size, float(v))
                                                     for k, v in (true_params or {}).items()})
        self.duty = kind.build_duty(fleet, scenario.horizon_years * HOURS_PER_YEAR, rng["duty"])
        if self.duty is None:
            raise ValueError(f"asset kind {kind.name} has no duty: nothing loads its assets, nothing to serve")
        self.rng = rng["sensors"]
        self.cycle = load_cycle(kind, settings, self.assets.size, self.rng)
        self.heat_at_rated_load_W = kind.heat_at_rated_load_W(settings)
        self.counters = kind.plc_counters
        self.counted = np.zeros((len(self.counters), self.assets.size))
        state = kind.initial_state(fleet, rng["physics"])
        crack = (np.asarray(state.crack_m)[self.assets] if initial_crack_m is None
                 else np.full(self.assets.size, float(initial_crack_m)))
        if not np.all((crack > 0) & (crack < np.asarray(self.params.section_depth_m))):
            raise ValueError(f"initial_crack_m = {initial_crack_m}: must lie in (0, section depth "
                             f"{fleet.crack.section_depth_m} m)")
        zero = np.zeros(self.assets.size)
        self.state = AssetState(crack, zero, zero.copy(), zero.copy())
        self.t_s = start_h * 3600.0
        self.state = dataclasses.replace(self.state, temp_C=self._inputs(1.0).ambient_C.copy())  # a cold start
        self._sensors = [(cfg, k, i) for i in range(self.assets.size)
                         for cfg in fleet.sensors for k in range(cfg.per_asset)]
        self.bias = np.array([rng["sensors"].normal(0.0, cfg.bias_sd) for cfg, _, _ in self._sensors])
        per = [(cfg.gain, cfg.noise_sd, cfg.quantisation, cfg.dropout) for cfg, _, _ in self._sensors]
        self._gain, self._noise, self._quant, self._dropout = ((np.array(col, float) for col in zip(*per)) if per
                                                               else [np.zeros(0)] * 4)
        self._observes = [cfg.observes for cfg, _, _ in self._sensors]
        self._asset_of = np.array([i for _, _, i in self._sensors], int)
        self.kind = fleet.kind

    def tagmap(self) -> TagMap:
        assets = self.assets.tolist()
        return served_tagmap(self.kind, assets, [(cfg, k, assets[i]) for cfg, k, i in self._sensors], self.counters)

    def _inputs(self, dt_s: float) -> AssetInputs:
        """Physics inputs of the next dt_s seconds for the chosen assets."""
        hourly = self.duty.inputs(self.t_s / 3600.0, 1, dt_s / 3600.0)
        pick = {f: np.asarray(getattr(hourly, f))[0, self.assets] for f in AssetInputs.__dataclass_fields__}
        if self.cycle is not None:
            pick = self.cycle.inputs(self.t_s, dt_s, pick)
        return AssetInputs(**pick)

    def _count_rate(self, inputs: AssetInputs) -> np.ndarray:
        """What a load counter integrates: the load that heats, where the kind has a heating model."""
        if self.heat_at_rated_load_W is not None:
            return np.asarray(inputs.heat_W) / self.heat_at_rated_load_W
        return np.asarray(inputs.load_factor)

    def step(self, dt_s: float = 1.0) -> np.ndarray:
        """Advance by dt_s simulated seconds; one sample per tag (NaN where a sample was lost): the sensors,
        the counters, the clock last."""
        inputs = self._inputs(dt_s)
        self.state = jax.device_get(_step(self.params, self.state, inputs, dt_s))
        obs = jax.device_get(_observe(self.params, self.state, inputs))
        self.t_s += dt_s
        if self.counters:  # every counter is a load counter (COUNTABLE)
            self.counted = self.counted + self._count_rate(inputs) * dt_s
        return np.concatenate([self.sample(obs), self.counted.ravel(), [self.t_s]])

    def truth(self) -> dict[str, np.ndarray]:
        """The hidden state (for tests and calibration checks)."""
        return {f: np.asarray(getattr(self.state, f)) for f in AssetState.__dataclass_fields__}

    def sample(self, obs) -> np.ndarray:
        physical = np.array([np.asarray(getattr(obs, q))[i] for q, i in zip(self._observes, self._asset_of)])
        out = quantise(self._gain * physical + self.bias + self._noise * self.rng.standard_normal(physical.size),
                       self._quant)
        out[self.rng.random(out.size) < self._dropout] = np.nan
        return out
