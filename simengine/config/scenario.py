"""Typed scenario schema: what a user can configure, with its bounds and units.

Times are in hours unless a name says otherwise, money in euros, lengths in m,
stresses in MPa. The YAML files under ``conf/scenario/`` fill these in; every
field has a default so a scenario file states only what differs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from simengine.config.validate import spec, tagged
from simengine.kinds.quantities import ABSOLUTE_ZERO_C, OBSERVABLES, PHYSICS_QUANTITIES
from simengine.units import HOURS_PER_YEAR


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
    by: str = spec("crew", choices=("crew", "contractor"),
                   doc="crew: the plant's crews (shifts, travel, labour); contractor: a specialist (a cable "
                       "vessel, a transformer works) who starts once access allows, works round the clock and "
                       "holds no crew; its price is cost_eur")


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


def duty_settings_type(kind: str) -> type | None:
    """The schema of asset kind `kind`'s duty settings, None if it takes none; ConfigError if no kind is named so."""
    from simengine.kinds.registry import resolve

    return resolve(kind).settings_type


def duty_label(kind: str) -> str:
    """How messages name the kind that `kind` names: ``asset kind crane`` for ``lifts``."""
    from simengine.kinds.registry import resolve

    return f"asset kind {resolve(kind).name}"


@dataclass(frozen=True)
class DutyConfig:
    """The asset kind (`simengine.kinds`) and, beside it, the settings of its duty: the loads over time.

    A tagged union, ``{kind: wind, mean_wind_m_s: 9}``: `kind` names the kind and the other keys
    are its settings, built into the kind's `settings_type` (`settings`; None for a kind without).
    """

    kind: str = spec("lifts", doc="asset kind: crane (or lifts), wind, conveyor, none, an entry point of group "
                                  "simengine.asset_kinds, or package.module:Name")
    settings: Any = tagged("kind", duty_settings_type, former=("lifts", "wind", "settings"), label=duty_label,
                           doc="the kind's duty settings")

    def __post_init__(self):
        schema = duty_settings_type(self.kind)
        if self.settings is None and schema is not None:  # built in code: the kind's defaults
            object.__setattr__(self, "settings", schema())
        elif not (isinstance(self.settings, schema) if schema is not None else self.settings is None):
            want = schema.__name__ if schema is not None else "none"
            raise ValueError(f"asset kind {self.kind} takes settings {want}, not {type(self.settings).__name__}")


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
class GroupConfig(FleetConfig):
    """One asset group of a plant: a fleet of one kind, with its place in the plant's production."""

    capacity: float = spec(1.0, ge=0.0, doc="production of one asset while it produces (e.g. MW); plant "
                                             "availability weighs groups by it; 0 for assets that only "
                                             "enable others (a substation)")
    downtime_eur_per_h: float | None = spec(None, ge=0.0, doc="cost of an asset-hour not producing; "
                                                              "null: costs.downtime_eur_per_h")


@dataclass(frozen=True)
class DependencyConfig:
    """Assets that feed others: a substation its turbines, a power supply its cranes.

    A fed asset produces only while, in each of its dependencies, at least
    `need` (default: all) of the assets feeding it produce; while it does not,
    it carries no load (it neither produces nor ages as if running).
    """

    upstream: str = spec(doc="the feeding assets: group, group[i] or group[a:b]")
    downstream: str = spec(doc="the fed assets: group, group[i] or group[a:b]")
    mapping: str = spec("all", choices=("all", "blocks"),
                        doc="all: each upstream asset feeds every downstream one; blocks: upstream asset k "
                            "feeds the k-th of as many contiguous blocks (strings of turbines)")
    need: int | None = spec(None, ge=1, doc="how many of a fed asset's upstream assets in this dependency must "
                                            "produce (k of n: redundant transformers, ring feeders); null: all")


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
    interval_h: float = spec(HOURS_PER_YEAR, gt=0.0, doc="age: replacement age; block: time between block replacements")
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
    fleet: FleetConfig | None = spec(None, doc="the assets of a one-fleet scenario (absent: a FleetConfig's "
                                               "defaults); none in a plant")
    groups: dict[str, GroupConfig] = spec(default_factory=dict,
                                          doc="a plant of several asset groups (name -> group), instead of fleet")
    dependencies: tuple[DependencyConfig, ...] = spec(default_factory=tuple, doc="which assets feed which")
    crews: CrewConfig = spec(default_factory=CrewConfig)
    spares: dict[str, SparePart] = spec(default_factory=dict)
    policy: PolicyConfig = spec(default_factory=PolicyConfig)
    costs: CostConfig = spec(default_factory=CostConfig)
    outputs: OutputConfig = spec(default_factory=OutputConfig)

    def __post_init__(self):
        if self.fleet is None and not self.groups:
            object.__setattr__(self, "fleet", FleetConfig())  # a one-fleet scenario always has its fleet

    def asset_groups(self) -> dict[str, FleetConfig]:
        """The plant's groups by name; a one-fleet scenario is the one group ``fleet``."""
        return dict(self.groups) if self.groups else {"fleet": self.fleet}

    def describe_assets(self) -> str:
        """The assets in a few words: "24 sts_crane assets", or a plant's groups."""
        if not self.groups:
            return f"{self.fleet.count} {self.fleet.kind} assets"
        return "a plant of " + ", ".join(f"{g.count} {g.kind} ({name})" for name, g in self.groups.items())

    def one_fleet_problems(self, what: str) -> list[tuple[str, object, str]]:
        """For a command that takes one fleet (the virtual PLC, calibration): a plant is refused by name."""
        if not self.groups:
            return []
        return [("scenario", self.name, f"{what} takes a one-fleet scenario; {self.name} is "
                                        f"{self.describe_assets()}")]

    def where(self, group: str) -> str:
        """The configuration path of a group, for messages: ``fleet`` or ``groups.<name>``."""
        return f"groups.{group}" if self.groups else "fleet"

    def check(self):
        problems = []
        if self.groups and self.fleet is not None:
            problems.append(self._fleet_in_plant())
        if not self.groups and self.dependencies:
            problems.append(("dependencies", len(self.dependencies), "need groups: a one-fleet scenario has no "
                                                                     "assets feeding others"))
        ratio = self.window_h / self.sync_interval_h
        if abs(ratio - round(ratio)) > 1e-9:
            problems.append(("window_h", self.window_h, "must be a whole number of sync intervals"))
        per_day = 24.0 / self.sync_interval_h
        if abs(per_day - round(per_day)) > 1e-9:
            problems.append(("sync_interval_h", self.sync_interval_h, "must divide 24 h (0.5, 1, 2, 3, 4, 6, 8, 12 or 24)"))
        for name, fleet in self.asset_groups().items():
            problems += self._fleet_problems(fleet, self.where(name))
        problems += self._plant_problems()
        problems += self._sea_state_problems()
        problems += self._replacement_problems()
        return problems

    def _fleet_in_plant(self) -> tuple[str, object, str]:
        """A plant given fleet settings too (`fleet.count=10` on a plant): name the first one set."""
        default = FleetConfig()
        name = next((f.name for f in dataclasses.fields(FleetConfig)
                     if getattr(self.fleet, f.name) != getattr(default, f.name)), "count")
        first = next(iter(self.groups))
        return (f"fleet.{name}", getattr(self.fleet, name),
                f"{self.name} is a plant of groups ({', '.join(self.groups)}): a scenario has either fleet or groups, "
                f"not both; set a group's instead, e.g. groups.{first}.{name}")

    def _fleet_problems(self, fleet: FleetConfig, where: str):
        problems = []
        parts = [(f"{where}.physics_failures", f) for f in fleet.physics_failures]
        parts += [(f"{where}.components", c) for c in fleet.components]
        for part_where, mode in parts:
            for label, rep in (("repair", mode.repair), ("planned_repair", getattr(mode, "planned_repair", None))):
                if rep is not None and rep.part is not None and rep.part not in self.spares:
                    problems.append((f"{part_where}.{mode.name}.{label}.part", rep.part, f"unknown spare part; known: {', '.join(self.spares) or 'none'}"))
        problems += _quantity_problems(fleet, where)
        for i, sensor in enumerate(fleet.sensors):
            if sensor.sample_rate_hz * self.sync_interval_h * 3600.0 < 1.0:
                problems.append((f"{where}.sensors[{i}].sample_rate_hz", sensor.sample_rate_hz,
                                 "must give at least one sample per sync interval"))
        crack = fleet.crack
        for i, mode in enumerate(fleet.physics_failures):
            if mode.quantity == "crack_m" and crack.initial_flaw_m.median >= mode.limit:
                problems.append((f"{where}.physics_failures[{i}].limit", mode.limit,
                                 f"must exceed the median initial flaw ({crack.initial_flaw_m.median} m)"))
            elif mode.quantity == "crack_m" and mode.limit >= crack.section_depth_m:
                problems.append((f"{where}.physics_failures[{i}].limit", mode.limit,
                                 f"must be less than {where}.crack.section_depth_m ({crack.section_depth_m} m): "
                                 "a crack cannot cross its section"))
        if crack.initial_flaw_m.median >= crack.section_depth_m:
            problems.append((f"{where}.crack.initial_flaw_m.median", crack.initial_flaw_m.median,
                             f"must be less than {where}.crack.section_depth_m ({crack.section_depth_m} m)"))
        problems += _kind_problems(fleet, where)
        return problems

    def _plant_problems(self):
        """Group names, capacities and the dependency graph (unknown assets, cycles)."""
        if not self.groups:
            return []
        from simengine.kinds.registry import kind_of
        from simengine.plant.graph import GROUP_NAME, build_graph

        problems = [(f"groups.{name}", name, "a group name is letters, digits and _, not starting with a digit")
                    for name in self.groups if not GROUP_NAME.match(name)]
        if not any(g.capacity > 0 for g in self.groups.values()):
            problems.append(("groups", ", ".join(self.groups), "at least one group needs capacity > 0: plant "
                                                              "availability is weighted by capacity"))
        if problems:
            return problems
        groups = [(name, kind_of(g).name, g.kind, g.count, g.capacity) for name, g in self.groups.items()]
        return build_graph(groups, self.dependencies)[1]

    def _sea_state_problems(self):
        """Offshore access needs a kind whose duty brings the sea state."""
        from simengine.kinds.registry import builtins, kind_of

        if self.crews.max_wave_height_m is None:
            return []
        kinds = [kind_of(g) for g in self.asset_groups().values()]
        if any(k.sea_state for k in kinds):
            return []
        sea = sorted({k.name for k in builtins().values() if k.sea_state})
        return [("crews.max_wave_height_m", self.crews.max_wave_height_m,
                 f"needs an asset kind whose duty brings the sea state ({', '.join(sea)}); "
                 f"{', '.join(sorted({k.name for k in kinds}))} does not")]

    def _replacement_problems(self):
        plan, where = self.policy.replacement, "policy.replacement"
        if plan.kind == "none":
            return []
        problems = []
        if plan.part is not None and plan.part not in self.spares:
            problems.append((f"{where}.part", plan.part, f"unknown spare part; known: {', '.join(self.spares) or 'none'}"))
        fleets = self.asset_groups()
        names = list(dict.fromkeys(c.name for f in fleets.values() for c in f.components))
        components = "fleet.components" if not self.groups else "the groups' components"
        for i, name in enumerate(plan.components):
            if name not in names:
                problems.append((f"{where}.components[{i}]", name,
                                 f"unknown component; known: {', '.join(names) or f'none ({components} is empty)'}"))
        if not plan.components and not any(replaced_components(plan, f) for f in fleets.values()):
            problems.append((f"{where}.components", [], f"no component of {components} wears out (Weibull shape > 1 "
                                                        "or a fixed life): name the components to replace"))
        return problems


def _quantity_problems(fleet: FleetConfig, where: str):
    """What a fleet's sensors and failure modes observe must be quantities of its kind."""
    from simengine.kinds.registry import builtins, kind_of

    kind = kind_of(fleet)
    problems = []
    if not kind.quantities and (fleet.physics_failures or fleet.sensors):
        loaded = sorted({k.name for k in builtins().values() if k.quantities})
        problems.append((f"{where}.duty.kind", fleet.duty.kind, "physics failures and sensors need a duty to load the "
                                                                f"physics (asset kind {kind.name} has none; kinds with "
                                                                f"one: {', '.join(loaded)})"))
    else:
        observed = [(f"{where}.sensors[{i}].observes", s.observes) for i, s in enumerate(fleet.sensors)]
        observed += [(f"{where}.physics_failures[{i}].quantity", m.quantity) for i, m in enumerate(fleet.physics_failures)]
        problems += [(at, q, f"asset kind {kind.name} has no quantity {q}; its quantities: "
                             f"{', '.join(kind.quantities)}") for at, q in observed if q not in kind.quantities]
    return problems


def _kind_problems(fleet: FleetConfig, where: str):
    """Assets labelled as a built-in kind's (kind: sts_crane) must be of that kind."""
    from simengine.kinds.registry import builtins, kind_of

    owners = {label: k for k in builtins().values() for label in k.labels}
    need = owners.get(fleet.kind)
    if need is None or need is kind_of(fleet):
        return []

    def spelling(k):
        return (k.aliases or (k.name,))[0]
    known = ", ".join(f"{label} -> {spelling(k)}" for label, k in owners.items())
    return [(f"{where}.kind", fleet.kind, f"a {fleet.kind} needs {where}.duty.kind={spelling(need)}, not "
                                          f"{fleet.duty.kind} (kinds with a known duty: {known})")]
