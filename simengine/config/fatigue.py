"""Typed schema of a fatigue batch: scatter in material, flaw and load over a horizon.

Units: stresses in MPa, lengths in m, time in hours unless a name says years.
"""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.scenario import LiftDutyConfig, Scatter
from simengine.config.validate import spec


@dataclass(frozen=True)
class NormalScatter:
    mean: float = spec(3.0)
    sd: float = spec(0.0, ge=0.0)


@dataclass(frozen=True)
class GeometryConfig:
    """Y constant, or the finite-width edge crack Y(a/W) (Tada, Paris & Irwin)."""

    kind: str = spec("constant", choices=("constant", "finite_width"))
    Y: float = spec(1.12, gt=0.0, doc="geometry factor when constant")
    width_m: float = spec(0.08, gt=0.0, doc="section width W for finite_width")


@dataclass(frozen=True)
class MaterialConfig:
    paris_C: Scatter = spec(default_factory=lambda: Scatter(1.65e-11, 0.5), doc="m/cycle/(MPa·√m)^m")
    paris_m: NormalScatter = spec(default_factory=lambda: NormalScatter(3.0, 0.0))
    initial_flaw_m: Scatter = spec(default_factory=lambda: Scatter(3e-4, 0.4))
    critical_m: float = spec(0.025, gt=0.0)
    geometry: GeometryConfig = spec(default_factory=GeometryConfig)

    def check(self):
        if self.geometry.kind == "finite_width" and self.critical_m > 0.6 * self.geometry.width_m:
            return [("critical_m", self.critical_m, f"must be <= 0.6 geometry.width_m ({0.6 * self.geometry.width_m:g} m): "
                     "the finite-width Y(a/W) polynomial holds to a/W = 0.6")]
        return []


@dataclass(frozen=True)
class HDF5LoadConfig:
    """A recorded stress (MPa) or strain (µε) history, e.g. a series the engine or the recorder wrote."""

    path: str = spec("", doc="HDF5 file")
    variable: str = spec("stress_MPa", doc="dataset name in the /series group")
    replica: int = spec(0, ge=0)
    asset: int = spec(0, ge=0)
    youngs_modulus_MPa: float = spec(210000.0, gt=0.0, doc="for strain histories")
    duty_fraction: float = spec(1.0, gt=0.0, le=1.0, doc="share of the time the recorded activity goes on")


@dataclass(frozen=True)
class LoadConfig:
    source: str = spec("crane_lifts", choices=("crane_lifts", "hdf5"))
    crane_lifts: LiftDutyConfig = spec(default_factory=LiftDutyConfig)
    hdf5: HDF5LoadConfig = spec(default_factory=HDF5LoadConfig)
    scale: Scatter = spec(default_factory=lambda: Scatter(1.0, 0.1), doc="load level per replica (stress factor)")
    seasonal_amplitude: float = spec(0.15, ge=0.0, lt=1.0, doc="annual swing of the cycle count per block")
    traffic_cv: float = spec(0.2, ge=0.0, doc="block-to-block scatter of the cycle count (shared history)")

    def check(self):
        if self.source == "hdf5" and not self.hdf5.path:
            return [("hdf5.path", self.hdf5.path, "required when source is hdf5")]
        return []


@dataclass(frozen=True)
class FatigueOutputs:
    record_interval_h: float = spec(720.0, gt=0.0, doc="crack length kept every this many hours")


@dataclass(frozen=True)
class FatigueConfig:
    name: str = spec("boom_joint")
    horizon_years: float = spec(25.0, gt=0.0, le=1000.0)
    block_h: float = spec(168.0, gt=0.0, doc="load block length")
    material: MaterialConfig = spec(default_factory=MaterialConfig)
    load: LoadConfig = spec(default_factory=LoadConfig)
    outputs: FatigueOutputs = spec(default_factory=FatigueOutputs)

    def check(self):
        blocks = self.horizon_years * 8760.0 / self.block_h
        if blocks > 1e6:
            return [("block_h", self.block_h, f"gives {blocks:.3g} blocks over the horizon; at most 10^6")]
        return []
