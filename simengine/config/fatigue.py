"""Typed schema of a fatigue batch: scatter in material, flaw and load over a horizon.

Units: stresses in MPa, lengths in m, time in hours unless a name says years.

Physical bounds, each stated where it is checked: the Paris exponent of metals
lies roughly in 2–6, so m (and m ± 4 sd of its scatter) must lie in (1, 10];
C, flaw sizes and the load level are > 0; the initial flaw is smaller than the
critical depth; Young's modulus is in MPa (steel 210,000), within [10^3, 10^6].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simengine.config.scenario import Scatter
from simengine.config.validate import spec
from simengine.kinds.crane import LiftDutyConfig
from simengine.units import HOURS_PER_YEAR


@dataclass(frozen=True)
class NormalScatter:
    mean: float = spec(3.0)
    sd: float = spec(0.0, ge=0.0)


PARIS_M_RANGE = (1.0, 10.0)  # (exclusive, inclusive): metals have m of about 2-6
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class GeometryConfig:
    """Y constant, or the finite-width edge crack Y(a/W) (Tada, Paris & Irwin)."""

    kind: str = spec("constant", choices=("constant", "finite_width"))
    Y: float = spec(1.12, gt=0.0, le=10.0, doc="geometry factor when constant")
    width_m: float = spec(0.08, gt=0.0, le=10.0, doc="section width W for finite_width")


@dataclass(frozen=True)
class MaterialConfig:
    paris_C: Scatter = spec(default_factory=lambda: Scatter(1.65e-11, 0.5), doc="m/cycle/(MPa·√m)^m")
    paris_m: NormalScatter = spec(default_factory=lambda: NormalScatter(3.0, 0.0))
    initial_flaw_m: Scatter = spec(default_factory=lambda: Scatter(3e-4, 0.4))
    critical_m: float = spec(0.025, gt=0.0, le=10.0)
    geometry: GeometryConfig = spec(default_factory=GeometryConfig)

    def check(self):
        problems = []
        lo, hi = PARIS_M_RANGE
        m = self.paris_m
        if not lo < m.mean <= hi:
            problems.append(("paris_m.mean", m.mean, f"must be in ({lo:g}, {hi:g}]: the Paris exponent of metals "
                             "is about 2-6"))
        elif not (lo < m.mean - 4 * m.sd and m.mean + 4 * m.sd <= hi):
            problems.append(("paris_m.sd", m.sd, f"mean ± 4 sd ({m.mean - 4 * m.sd:g}, {m.mean + 4 * m.sd:g}) must "
                             f"lie in ({lo:g}, {hi:g}]: draws of m beyond it are not physical"))
        if not self.paris_C.median > 0:
            problems.append(("paris_C.median", self.paris_C.median, "must be > 0 m/cycle/(MPa·√m)^m: a crack grows"))
        if not self.initial_flaw_m.median > 0:
            problems.append(("initial_flaw_m.median", self.initial_flaw_m.median, "must be > 0 m"))
        elif not self.initial_flaw_m.median < self.critical_m:
            problems.append(("initial_flaw_m.median", self.initial_flaw_m.median,
                             f"must be < critical_m ({self.critical_m:g} m): the initial flaw is smaller than the "
                             "critical depth"))
        if self.geometry.kind == "finite_width" and self.critical_m > 0.6 * self.geometry.width_m:
            problems.append(("critical_m", self.critical_m, f"must be <= 0.6 geometry.width_m "
                             f"({0.6 * self.geometry.width_m:g} m): the finite-width Y(a/W) polynomial holds to a/W = 0.6"))
        return problems


@dataclass(frozen=True)
class HDF5LoadConfig:
    """A recorded stress (MPa) or strain (µε) history, e.g. a series the engine or the recorder wrote."""

    path: str = spec("", doc="HDF5 file")
    variable: str = spec("stress_MPa", doc="dataset name in the /series group")
    replica: int = spec(0, ge=0)
    asset: int = spec(0, ge=0)
    youngs_modulus_MPa: float = spec(210000.0, ge=1e3, le=1e6, doc="for strain histories, MPa (steel 210000)")
    duty_fraction: float = spec(1.0, gt=0.0, le=1.0, doc="share of the time the recorded activity goes on")


@dataclass(frozen=True)
class LoadConfig:
    source: str = spec("crane_lifts", choices=("crane_lifts", "hdf5"))
    crane_lifts: LiftDutyConfig = spec(default_factory=LiftDutyConfig)
    hdf5: HDF5LoadConfig = spec(default_factory=HDF5LoadConfig)
    scale: Scatter = spec(default_factory=lambda: Scatter(1.0, 0.1), doc="load level per replica (stress factor)")
    seasonal_amplitude: float = spec(0.15, ge=0.0, lt=1.0, doc="annual swing of the cycle count per block")
    traffic_cv: float = spec(0.2, ge=0.0, le=5.0, doc="block-to-block scatter of the cycle count (shared history)")

    def check(self):
        problems = []
        if self.source == "hdf5" and not self.hdf5.path:
            problems.append(("hdf5.path", self.hdf5.path, "required when source is hdf5"))
        if self.source == "hdf5" and not self.hdf5.variable:
            problems.append(("hdf5.variable", self.hdf5.variable, "required when source is hdf5"))
        if not self.scale.median > 0:
            problems.append(("scale.median", self.scale.median, "must be > 0: a load level that loads the detail"))
        return problems


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
        problems = []
        if not _NAME.fullmatch(self.name):
            problems.append(("name", self.name, "must be letters, digits, '_', '-' or '.', starting with a letter "
                             "or digit: it names the results folder"))
        blocks = self.horizon_years * HOURS_PER_YEAR / self.block_h
        if blocks > 1e6:
            problems.append(("block_h", self.block_h, f"gives {blocks:.3g} blocks over the horizon; at most 10^6"))
        return problems
