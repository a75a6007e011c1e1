"""Assets without physics loads (``fleet.duty.kind: none``): components with configured lives only.

No duty, so nothing for the physics to advance: no sensors and no physics failure modes.
"""

from __future__ import annotations

from simengine.kinds.structural import StructuralKind


class BareKind(StructuralKind):
    name = "none"
    quantities = ()

    def build_duty(self, fleet, horizon_h: float, rng):
        return None


NONE = BareKind()
