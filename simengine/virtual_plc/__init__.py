"""The virtual PLC: a scenario's assets simulated with hidden "true" parameters, read as a PLC reads them.

Built on the asset kinds (`simengine.kinds`): one tag per sensor of the scenario, the
integrating counters the kind declares, and the PLC's scan clock (`tagmap.py`); each
scan steps the kind's physics and samples its sensors (`source.py`). It is the data
source of `simengine plc serve` (served through `simengine.plc`, which holds the
protocols only) and of a calibration with ``source=virtual``.
"""

from simengine.virtual_plc.source import PhysicsSource

__all__ = ["PhysicsSource"]
