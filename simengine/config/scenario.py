"""Typed scenario schema: what a user can configure, with its bounds and units.

Times are in hours unless a name says otherwise, money in euros, lengths in m,
stresses in MPa. The YAML files under ``conf/scenario/`` fill these in; every
field has a default so a scenario file states only what differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simengine.config.validate import spec

OBSERVABLES = ("vibration_rms", "natural_frequency_hz", "temperature_C", "load_factor", "crack_m", "damage", "wear")
PHYSICS_QUANTITIES = ("crack_m", "damage", "wear")
ABSOLUTE_ZERO_C = -273.15
# Asset kinds whose physics the engine knows, and the duty that loads them; any other kind is a free label.
KIND_DUTY = {"sts_crane": "lifts", "wind_turbine": "wind"}


@dataclass(frozen=True)
class Distribution:
    """A positive random duration. `mean` in hours; Weibull uses `shape`, lognormal `cv`."""

    kind: str = spec("exponential", choices=("exponential", "weibull", "lognormal", "fixed"))
    mean: float = spec(1.0, gt=0.0, doc="mean, hours")
    shape: float = spec(1.0, gt=0.0, doc="Weibull shape k")
    cv: float = spec(0.5, gt=0.0, doc="lognormal coefficient of variation")


@dataclass(frozen=True)
class Scatter:
    """Asset-to-asset scatter: lognormal around `median` with coefficient of variation `cv` (0: none)."""

    median: float = spec(1.0, ge=0.0)
    cv: float = spec(0.0, ge=0.0)


@dataclass(frozen=True)
class CrackConfig:
    paris_C: Scatter = spec(default_factory=lambda: Scatter(1.65e-11, 0.0), doc="m/cycle/(MPa·√m)^m; 0 disables growth")
    paris_m: float = spec(3.0, gt=0.0)
    geometry_Y: float = spec(1.12, gt=0.0)
    initial_flaw_m: Scatter = spec(default_factory=lambda: Scatter(3e-4, 0.0))
    section_depth_m: float = spec(0.04, gt=0.0, doc="depth of the cracked section (vibration model)")
    stiffness_sensitivity: float = spec(0.8, ge=0.0, le=0.95, doc="β in k/k0 = 1 - β (a/h)²")


@dataclass(frozen=True)
class SNConfig:
    detail_category_MPa: float = spec(71.0, gt=0.0)
    m1: float = spec(3.0, gt=0.0)
    m2: float = spec(5.0, gt=0.0)
    knee_cycles: float = spec(5.0e6, gt=0.0)
    strength_scatter_cv: float = spec(0.0, ge=0.0, doc="lognormal scatter of endurance per asset")


@dataclass(frozen=True)
class ThermalConfig:
    tau_s: float = spec(1800.0, gt=0.0, doc="thermal time constant, s")
    resistance_K_per_W: float = spec(0.005, gt=0.0)
    initial_C: float = spec(20.0, ge=ABSOLUTE_ZERO_C)


@dataclass(frozen=True)
class VibrationConfig:
    natural_frequency_hz: float = spec(1.5, gt=0.0)
    rms0: float = spec(0.3, gt=0.0, doc="m/s² at rated load, healthy")
    wear_gain: float = spec(0.0, ge=0.0, doc="RMS rises by (1 + gain · wear)")


@dataclass(frozen=True)
class WearConfig:
    rate_per_h: Scatter = spec(default_factory=lambda: Scatter(0.0, 0.0), doc="fraction of limit per hour at rated load and reference temperature")
    reference_C: float = spec(60.0, ge=ABSOLUTE_ZERO_C)
    doubling_K: float = spec(10.0, gt=0.0)


@dataclass(frozen=True)
class RepairConfig:
    work: Distribution = spec(default_factory=lambda: Distribution("lognormal", 8.0, 1.0, 0.5), doc="hands-on hours")
    cost_eur: float = spec(0.0, ge=0.0, doc="parts and contractor cost per repair")
    part: str | None = spec(None, doc="spare part consumed, a key of `spares`")


@dataclass(frozen=True)
class PhysicsFailure:
    """A failure when a physics quantity reaches its limit (crack depth, Miner damage, wear)."""

    name: str = spec()
    quantity: str = spec(choices=PHYSICS_QUANTITIES)
    limit: float = spec(gt=0.0)
    repair: RepairConfig = spec(default_factory=RepairConfig, doc="repair after the failure")
    planned_repair: RepairConfig = spec(default_factory=RepairConfig, doc="repair of a defect found before failure")
    failure_cost_eur: float = spec(0.0, ge=0.0)


@dataclass(frozen=True)
class ComponentFailure:
    """A component with a configured life (no physics): motors, brakes, electronics."""

    name: str = spec()
    life: Distribution = spec(default_factory=lambda: Distribution("exponential", 10000.0))
    repair: RepairConfig = spec(default_factory=RepairConfig)
    failure_cost_eur: float = spec(0.0, ge=0.0)


@dataclass(frozen=True)
class AlarmConfig:
    level: float = spec(doc="alarm level in the sensor's unit")
    direction: str = spec("above", choices=("above", "below"))


@dataclass(frozen=True)
class SensorConfig:
    name: str = spec()
    observes: str = spec(choices=OBSERVABLES)
    per_asset: int = spec(1, ge=1)
    gain: float = spec(1.0, doc="sensor unit per physical unit")
    unit: str | None = spec(None, doc="the sensor's unit; default the observed quantity's")
    noise_sd: float = spec(0.01, ge=0.0)
    bias_sd: float = spec(0.0, ge=0.0)
    drift_sd_per_h: float = spec(0.0, ge=0.0)
    quantisation: float = spec(0.0, ge=0.0)
    dropout: float = spec(0.0, ge=0.0, lt=1.0, doc="probability a sample is lost")
    stuck_rate_per_h: float = spec(0.0, ge=0.0)
    sample_rate_hz: float = spec(1.0, gt=0.0)
    feature: str = spec("mean", choices=("mean", "rms", "max"))
    deadband: float = spec(0.0, ge=0.0, doc="report by exception: send when the feature moves this much")
    heartbeat_h: float = spec(24.0, gt=0.0, doc="send at least this often")
    alarm: AlarmConfig | None = spec(None)


@dataclass(frozen=True)
class LiftDutyConfig:
    """Container lifts of a quay crane."""

    operating_hours_per_year: float = spec(5500.0, gt=0.0, le=8760.0)
    lifts_per_h: float = spec(30.0, gt=0.0, doc="moves per operating hour")
    load_classes_t: tuple[float, ...] = spec(default_factory=lambda: (18.0, 26.0, 34.0, 45.0), gt=0.0, doc="load per lift incl. spreader, t")
    load_probs: tuple[float, ...] = spec(default_factory=lambda: (0.25, 0.35, 0.28, 0.12), ge=0.0, le=1.0)
    stress_per_t_MPa: float = spec(2.4, gt=0.0, doc="stress range at the joint per tonne lifted")
    traffic_cv: float = spec(0.3, ge=0.0, doc="day-to-day scatter of traffic (gamma)")
    rated_load_t: float = spec(65.0, gt=0.0)
    heat_J_per_t: float = spec(25000.0, ge=0.0, doc="hoist motor losses per tonne lifted")
    ambient_mean_C: float = spec(15.0, ge=ABSOLUTE_ZERO_C)
    ambient_amplitude_C: float = spec(8.0, ge=0.0)

    def check(self):
        problems = []
        if self.load_classes_t and max(self.load_classes_t) > self.rated_load_t:
            problems.append(("load_classes_t", list(self.load_classes_t), f"must not exceed rated_load_t ({self.rated_load_t} t)"))
        if self.ambient_mean_C - self.ambient_amplitude_C < ABSOLUTE_ZERO_C:
            problems.append(("ambient_amplitude_C", self.ambient_amplitude_C, "takes the ambient below absolute zero"))
        if len(self.load_probs) != len(self.load_classes_t):
            problems.append(("load_probs", list(self.load_probs), f"needs one probability per load class ({len(self.load_classes_t)})"))
        elif not math.isclose(sum(self.load_probs), 1.0, abs_tol=1e-9):
            problems.append(("load_probs", list(self.load_probs), "must sum to 1"))
        return problems


@dataclass(frozen=True)
class WindDutyConfig:
    """A wind turbine in a farm sharing one weather."""

    mean_wind_m_s: float = spec(9.0, gt=0.0)
    weibull_k: float = spec(2.0, gt=0.0)
    hourly_autocorrelation: float = spec(0.97, ge=0.0, lt=1.0)
    cut_in_m_s: float = spec(3.0, ge=0.0)
    rated_m_s: float = spec(12.0, gt=0.0)
    cut_out_m_s: float = spec(25.0, gt=0.0)
    rated_power_W: float = spec(3.0e6, gt=0.0)
    gearbox_loss_fraction: float = spec(0.03, ge=0.0, lt=1.0)
    rotor_cycles_per_h: float = spec(900.0, gt=0.0)
    blade_stress_MPa: tuple[float, float] = spec(default_factory=lambda: (10.0, 30.0), ge=0.0, doc="(gravity part, aero part at rated wind)")
    turbine_scatter_cv: float = spec(0.05, ge=0.0)
    mean_wave_height_m: float = spec(1.2, gt=0.0)
    wave_cv: float = spec(0.5, gt=0.0)
    ambient_mean_C: float = spec(10.0, ge=ABSOLUTE_ZERO_C)
    ambient_amplitude_C: float = spec(6.0, ge=0.0)

    def check(self):
        problems = []
        if not self.cut_in_m_s < self.rated_m_s < self.cut_out_m_s:
            problems.append(("", [self.cut_in_m_s, self.rated_m_s, self.cut_out_m_s], "needs cut_in_m_s < rated_m_s < cut_out_m_s"))
        if self.ambient_mean_C - self.ambient_amplitude_C < ABSOLUTE_ZERO_C:
            problems.append(("ambient_amplitude_C", self.ambient_amplitude_C, "takes the ambient below absolute zero"))
        return problems


@dataclass(frozen=True)
class DutyConfig:
    kind: str = spec("lifts", choices=("lifts", "wind", "none"))
    lifts: LiftDutyConfig = spec(default_factory=LiftDutyConfig)
    wind: WindDutyConfig = spec(default_factory=WindDutyConfig)


@dataclass(frozen=True)
class FleetConfig:
    kind: str = spec("asset", doc="what the assets are, e.g. sts_crane")
    count: int = spec(10, ge=1)
    duty: DutyConfig = spec(default_factory=DutyConfig)
    crack: CrackConfig = spec(default_factory=CrackConfig)
    sn: SNConfig = spec(default_factory=SNConfig)
    thermal: ThermalConfig = spec(default_factory=ThermalConfig)
    vibration: VibrationConfig = spec(default_factory=VibrationConfig)
    wear: WearConfig = spec(default_factory=WearConfig)
    physics_failures: tuple[PhysicsFailure, ...] = spec(default_factory=tuple)
    components: tuple[ComponentFailure, ...] = spec(default_factory=tuple)
    sensors: tuple[SensorConfig, ...] = spec(default_factory=tuple)


@dataclass(frozen=True)
class CrewConfig:
    count: int = spec(2, ge=1)
    shifts: tuple[tuple[float, float], ...] = spec(default_factory=lambda: ((0.0, 24.0),), ge=0.0, le=24.0, doc="(start, end) hour of day, at least one")
    travel_h: float = spec(0.5, ge=0.0)
    hourly_cost_eur: float = spec(120.0, ge=0.0)
    max_wave_height_m: float | None = spec(None, gt=0.0, doc="offshore access limit; needs wind duty")

    def check(self):
        if not self.shifts:
            return [("shifts", [], "needs at least one (start, end) shift; [[0, 24]] is round the clock")]
        return [(f"shifts[{i}]", list(s), "needs start < end") for i, s in enumerate(self.shifts) if not s[0] < s[1]]


@dataclass(frozen=True)
class SparePart:
    initial: int = spec(2, ge=0)
    reorder_point: int = spec(1, ge=0)
    order_quantity: int = spec(2, ge=1)
    lead_time_h: float = spec(336.0, ge=0.0)
    unit_cost_eur: float = spec(0.0, ge=0.0)


@dataclass(frozen=True)
class InspectionConfig:
    interval_h: float = spec(2190.0, gt=0.0)
    duration_h: float = spec(4.0, gt=0.0)
    cost_eur: float = spec(1500.0, ge=0.0)
    takes_asset_down: bool = spec(True)
    pod_a50_m: float = spec(2.0e-3, gt=0.0, doc="crack depth found with probability 1/2")
    pod_slope: float = spec(0.6, gt=0.0, doc="log-logistic spread of the PoD curve")
    wear_visible_fraction: float = spec(0.3, gt=0.0, le=1.0, doc="wear an inspection sees, as a fraction of its limit")

    def check(self):
        if self.duration_h >= self.interval_h:
            return [("duration_h", self.duration_h, f"must be shorter than interval_h ({self.interval_h} h)")]
        return []


REPLACEMENT_KINDS = ("none", "age", "block")


@dataclass(frozen=True)
class ReplacementConfig:
    """Preventive replacement of components with a configured life, besides inspections.

    age: a component is replaced when it reaches `interval_h` of age (its age
    restarts at every replacement, preventive or after a failure). block: every
    selected component of every asset is replaced at each multiple of
    `interval_h` of calendar time, whatever its age. A replacement that falls
    due is planned work: the asset runs until the crew is on site and is down
    while it works; a failed component is replaced by its corrective repair.
    """

    kind: str = spec("none", choices=REPLACEMENT_KINDS)
    interval_h: float = spec(8760.0, gt=0.0, doc="age: replacement age; block: time between block replacements")
    components: tuple[str, ...] = spec(default_factory=tuple,
                                       doc="names in fleet.components; empty: those that wear out "
                                           "(Weibull shape > 1, fixed lives)")
    work: Distribution = spec(default_factory=lambda: Distribution("lognormal", 4.0, 1.0, 0.5), doc="hands-on hours")
    cost_eur: float = spec(0.0, ge=0.0, doc="parts and contractor cost of one preventive replacement")
    part: str | None = spec(None, doc="spare part consumed, a key of `spares`")


def wears_out(component: ComponentFailure) -> bool:
    """Whether a component's failure rate rises with age, so that replacing it early can pay."""
    life = component.life
    return life.kind == "fixed" or (life.kind == "weibull" and life.shape > 1.0)


def replaced_components(plan: ReplacementConfig, fleet: FleetConfig) -> tuple[str, ...]:
    """Names of the components that `plan` replaces: those it names, else those that wear out; none for kind none."""
    if plan.kind == "none":
        return ()
    return plan.components or tuple(c.name for c in fleet.components if wears_out(c))


@dataclass(frozen=True)
class PolicyConfig:
    kind: str = spec("condition_based", choices=("corrective", "scheduled", "condition_based"))
    inspection: InspectionConfig = spec(default_factory=InspectionConfig)
    replacement: ReplacementConfig = spec(default_factory=ReplacementConfig,
                                          doc="preventive replacement of components (age or block), with any kind")
    alarm_response_h: float = spec(0.0, ge=0.0, doc="delay from alarm to work order")
    rearm_after_h: float = spec(720.0, gt=0.0, doc="alarms re-arm this long after a visit found nothing")


@dataclass(frozen=True)
class CostConfig:
    downtime_eur_per_h: float = spec(0.0, ge=0.0)


@dataclass(frozen=True)
class OutputConfig:
    record_assets: int = spec(3, ge=0, doc="assets whose state is kept as time series")
    record_interval_h: float = spec(24.0, gt=0.0)
    keep_replicas: int = spec(10, ge=0, doc="replicas whose events and series simengine.run returns in memory (all are in run.h5)")


@dataclass(frozen=True)
class ScenarioConfig:
    name: str = spec("custom")
    horizon_years: float = spec(10.0, gt=0.0, le=1000.0)
    sync_interval_h: float = spec(1.0, gt=0.0, le=24.0, doc="physics resolution; divides 24 h")
    window_h: float = spec(168.0, ge=24.0, doc="physics is predicted this far ahead in one call")
    sensor_fidelity: str = spec("feature", choices=("feature", "raw"))
    fleet: FleetConfig = spec(default_factory=FleetConfig)
    crews: CrewConfig = spec(default_factory=CrewConfig)
    spares: dict[str, SparePart] = spec(default_factory=dict)
    policy: PolicyConfig = spec(default_factory=PolicyConfig)
    costs: CostConfig = spec(default_factory=CostConfig)
    outputs: OutputConfig = spec(default_factory=OutputConfig)

    def check(self):
        problems = []
        parts = [("fleet.physics_failures", f) for f in self.fleet.physics_failures]
        parts += [("fleet.components", c) for c in self.fleet.components]
        for i, (where, mode) in enumerate(parts):
            for label, rep in (("repair", mode.repair), ("planned_repair", getattr(mode, "planned_repair", None))):
                if rep is not None and rep.part is not None and rep.part not in self.spares:
                    problems.append((f"{where}.{mode.name}.{label}.part", rep.part, f"unknown spare part; known: {', '.join(self.spares) or 'none'}"))
        if self.fleet.duty.kind == "none" and (self.fleet.physics_failures or self.fleet.sensors):
            problems.append(("fleet.duty.kind", "none", "physics failures and sensors need a duty (lifts or wind) to load the physics"))
        if self.crews.max_wave_height_m is not None and self.fleet.duty.kind != "wind":
            problems.append(("crews.max_wave_height_m", self.crews.max_wave_height_m, "needs a wind duty (it brings the sea state)"))
        ratio = self.window_h / self.sync_interval_h
        if abs(ratio - round(ratio)) > 1e-9:
            problems.append(("window_h", self.window_h, "must be a whole number of sync intervals"))
        per_day = 24.0 / self.sync_interval_h
        if abs(per_day - round(per_day)) > 1e-9:
            problems.append(("sync_interval_h", self.sync_interval_h, "must divide 24 h (0.5, 1, 2, 3, 4, 6, 8, 12 or 24)"))
        for i, sensor in enumerate(self.fleet.sensors):
            if sensor.sample_rate_hz * self.sync_interval_h * 3600.0 < 1.0:
                problems.append((f"fleet.sensors[{i}].sample_rate_hz", sensor.sample_rate_hz,
                                 "must give at least one sample per sync interval"))
        crack = self.fleet.crack
        for i, mode in enumerate(self.fleet.physics_failures):
            if mode.quantity == "crack_m" and crack.initial_flaw_m.median >= mode.limit:
                problems.append((f"fleet.physics_failures[{i}].limit", mode.limit,
                                 f"must exceed the median initial flaw ({crack.initial_flaw_m.median} m)"))
            elif mode.quantity == "crack_m" and mode.limit >= crack.section_depth_m:
                problems.append((f"fleet.physics_failures[{i}].limit", mode.limit,
                                 f"must be less than fleet.crack.section_depth_m ({crack.section_depth_m} m): "
                                 "a crack cannot cross its section"))
        if crack.initial_flaw_m.median >= crack.section_depth_m:
            problems.append(("fleet.crack.initial_flaw_m.median", crack.initial_flaw_m.median,
                             f"must be less than fleet.crack.section_depth_m ({crack.section_depth_m} m)"))
        problems += self._kind_problems()
        problems += self._replacement_problems()
        return problems

    def _replacement_problems(self):
        plan, where = self.policy.replacement, "policy.replacement"
        if plan.kind == "none":
            return []
        problems = []
        if plan.part is not None and plan.part not in self.spares:
            problems.append((f"{where}.part", plan.part, f"unknown spare part; known: {', '.join(self.spares) or 'none'}"))
        names = [c.name for c in self.fleet.components]
        for i, name in enumerate(plan.components):
            if name not in names:
                problems.append((f"{where}.components[{i}]", name,
                                 f"unknown component; known: {', '.join(names) or 'none (fleet.components is empty)'}"))
        if not plan.components and not replaced_components(plan, self.fleet):
            problems.append((f"{where}.components", [], "no component of fleet.components wears out (Weibull shape > 1 "
                                                        "or a fixed life): name the components to replace"))
        return problems

    def _kind_problems(self):
        kind, duty = self.fleet.kind, self.fleet.duty.kind
        need = KIND_DUTY.get(kind)
        if need is None or duty == need:
            return []
        known = ", ".join(f"{k} -> {d}" for k, d in KIND_DUTY.items())
        return [("fleet.kind", kind, f"a {kind} needs fleet.duty.kind={need}, not {duty} "
                                     f"(kinds with a known duty: {known})")]
