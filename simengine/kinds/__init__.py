"""Asset kinds as plugins: what a crane, a wind turbine or a user's own asset supplies to the engine.

`base.AssetKind` is the interface, `registry.resolve` finds a kind by name, and
`quantities.CATALOGUE` is the one table of observable quantities and units.
Importing this package imports neither numpy nor JAX.
"""
from simengine.kinds.base import AssetKind, CrackDriver, Duty, PlcCounter
from simengine.kinds.registry import GROUP, kind_of, resolve
from simengine.kinds.structural import StructuralKind

__all__ = ["GROUP", "AssetKind", "CrackDriver", "Duty", "PlcCounter", "StructuralKind", "kind_of", "resolve"]
