"""Where a calibration starts: the scenario's nominal values for one asset, and whether its kind can be fitted.

Shared by the one-shot job (`job.py`) and continuous mode (`continuous.py`).
"""

from __future__ import annotations

import numpy as np

from simengine.calibration.model import Baseline, baseline_for
from simengine.calibration.window import Window
from simengine.config.scenario import ScenarioConfig
from simengine.config.validate import ConfigError, Problem
from simengine.kinds.registry import builtins, kind_of


def baseline(scenario: ScenarioConfig, window: Window, *, initial_crack_m: float | None = None) -> Baseline:
    """The scenario's nominal values for one asset (medians where it scatters them), the heat at rated load
    from its kind's duty, and a cold start at the first temperature reading."""
    fleet = scenario.fleet
    kind = kind_of(fleet)
    problems = kind_problems(scenario, ())
    if problems:
        raise ConfigError(problems)
    params = kind.build_params(fleet, np.random.default_rng(0))
    nominal = {"paris_C": fleet.crack.paris_C.median, "wear_rate_per_s": fleet.wear.rate_per_h.median / 3600.0}
    params = type(params)(**{**params.__dict__, **{k: np.full(fleet.count, v) for k, v in nominal.items()}})
    temps = window.observed[0][np.isfinite(window.observed[0])]
    start_C = float(temps[0]) if temps.size else fleet.thermal.initial_C  # the motor may already be warming
    crack = fleet.crack.initial_flaw_m.median if initial_crack_m is None else initial_crack_m
    return baseline_for(params, 0, hoist_heat_W=kind.heat_at_rated_load_W(kind.settings(fleet.duty)),
                        ambient_C=start_C, initial_temp_C=start_C, initial_crack_m=crack)


def kind_problems(scenario: ScenarioConfig, parameters: tuple[str, ...]) -> list[Problem]:
    """The fleet's kind must have a heating model the calibration can drive with the measured load, and
    declare each of `parameters` fittable."""
    plant = scenario.one_fleet_problems("calibration")
    if plant:
        return [Problem(*p) for p in plant]
    kind = kind_of(scenario.fleet)
    if not kind.fittable or kind.heat_at_rated_load_W(kind.settings(scenario.fleet.duty)) is None:
        able = sorted({k.name for k in builtins().values() if k.fittable})
        return [Problem("fleet.duty.kind", scenario.fleet.duty.kind,
                        f"asset kind {kind.name} declares nothing the calibration can fit (its observation model needs "
                        f"a heat input ∝ measured load); kinds that do: {', '.join(able)}")]
    return [Problem(f"fit.parameters[{i}]", name, f"asset kind {kind.name} cannot fit it; it fits "
                                                  f"{', '.join(kind.fittable)}")
            for i, name in enumerate(parameters) if name not in kind.fittable]
