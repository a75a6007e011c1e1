"""Defaults for a kind whose assets carry the engine's structural physics.

Crack growth (Paris), S-N damage (Miner), a lumped thermal model, vibration and wear:
the parameters and initial state come from the fleet's `crack`, `sn`, `thermal`,
`vibration` and `wear` settings (`simengine.engine.physics_setup`), and every quantity
of the catalogue can be observed. A kind subclasses `StructuralKind`, names itself,
and supplies its duty; it overrides what differs.
"""

from __future__ import annotations

import math
from typing import Any

from simengine.kinds.quantities import OBSERVABLES


class StructuralKind:
    name: str = ""
    aliases: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    settings_type: type | None = None
    quantities: tuple[str, ...] = OBSERVABLES
    sea_state: bool = False
    plc_counters: tuple = ()
    fittable: tuple[str, ...] = ()

    def settings(self, duty) -> Any:
        """Its settings: ``duty.settings``, built into `settings_type` with the configuration."""
        return duty.settings

    def build_duty(self, fleet, horizon_h: float, rng):
        raise NotImplementedError(f"asset kind {self.name!r} supplies no build_duty")

    def build_params(self, fleet, rng):
        from simengine.engine.physics_setup import build_params

        return build_params(fleet, rng)

    def initial_state(self, fleet, rng):
        from simengine.engine.physics_setup import initial_state

        return initial_state(fleet, rng)

    def heat_at_rated_load_W(self, settings) -> float | None:
        return None

    def steady_load_s(self, settings) -> float:
        return math.inf

    def crack_driver(self, settings, paris_m: float):
        return None

    def __repr__(self) -> str:
        return f"<asset kind {self.name}>"
