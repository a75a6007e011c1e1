"""Duty cycles now belong to their asset kinds (`simengine.kinds`): this module keeps the old names.

`LiftDuty` is the crane's (`simengine.kinds.lift_duty`), `WindDuty` the wind turbine's
(`simengine.kinds.wind_duty`). A duty model draws its whole horizon up front from its own
random stream, then serves any window of intervals deterministically.
"""

from simengine.kinds.lift_duty import LiftDuty
from simengine.kinds.wind_duty import WindDuty

__all__ = ["LiftDuty", "WindDuty"]
