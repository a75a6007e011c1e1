"""One replica: build the co-simulation from a scenario, run it, report KPIs.

`run_replica(scenario, seed, replica)` is a pure function of its arguments:
its random streams come from ``SeedSequence(seed, spawn_key=(replica,))``, so
results do not depend on the executor, the worker count or the order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from simengine.config.scenario import FleetConfig, ScenarioConfig
from simengine.engine.calendar import AccessWindows
from simengine.engine.fleet import EventLog, Fleet
from simengine.engine.fleet_physics import FleetPhysics, Threshold
from simengine.engine.kpis import kpi_catalogue, out_of_range
from simengine.engine.maintenance import Maintenance
from simengine.engine.policies import Inspector
from simengine.engine.recorder import Recorder
from simengine.kinds.registry import kind_of
from simengine.plant.graph import plant_graph
from simengine.results.store import ReplicaResult
from simengine.units import HOURS_PER_YEAR

STREAMS = ("physics", "duty", "failures", "maintenance", "inspection", "sensors")


def replica_streams(seed: int, replica: int) -> dict[str, np.random.Generator]:
    root = np.random.SeedSequence(seed, spawn_key=(replica,))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, root.spawn(len(STREAMS)))}


def group_streams(seed: int, replica: int, group: int) -> dict[str, np.random.Generator]:
    """The random streams of a plant's group: the first group's are the replica's own, so a one-fleet
    scenario draws as it always did; group g > 0 has its own root beside the replica's children."""
    if group == 0:
        return replica_streams(seed, replica)
    root = np.random.SeedSequence(seed, spawn_key=(replica, len(STREAMS) - 1 + group))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, root.spawn(len(STREAMS)))}


def has_physics(fleet: FleetConfig) -> bool:
    """Whether anything needs the physics: a physics failure mode or a sensor."""
    return bool(fleet.physics_failures or fleet.sensors)


class _OffsetLog:
    """A group's view of the plant's event log: its local asset numbers become the plant's."""

    def __init__(self, log: EventLog, offset: int):
        put = log.record

        def record(time_h: float, asset: int, kind: str, value: float = 0.0) -> None:
            put(time_h, asset + offset, kind, value)

        self.record = record


@dataclass
class GroupTwin:
    """One asset group's part of a replica: its fleet, physics, recorder and inspector."""

    name: str
    cfg: FleetConfig
    kind: object
    fleet: Fleet
    physics: FleetPhysics | None = None
    recorder: Recorder | None = None
    inspector: Inspector | None = None


class Replica:
    """The wired-up co-simulation of one replica: one group of assets, or a plant of several.

    `duty` replaces the scenario's duty model (one-fleet scenarios): any object with
    ``inputs(t0_h, n_rows, dt_h) -> AssetInputs`` (arrays (n_rows, n_assets)).
    """

    def __init__(self, scenario: ScenarioConfig, seed: int, replica: int = 0, duty=None):
        self.scenario, self.seed, self.replica = scenario, seed, replica
        self._custom_duty = duty is not None
        self.horizon_h = scenario.horizon_years * HOURS_PER_YEAR
        self.env = env = simpy.Environment()
        self.log = EventLog()
        self.graph = plant_graph(scenario)
        configs = scenario.asset_groups()
        if duty is not None and len(configs) > 1:
            raise ValueError("duty= replaces the duty of a one-fleet scenario; this one is a plant")
        streams = [group_streams(seed, replica, g) for g in range(len(configs))]
        duties = []
        for (name, cfg), rng in zip(configs.items(), streams):
            kind = kind_of(cfg)
            # None for a kind without physics loads; the weather decides access too
            duties.append(duty if duty is not None else kind.build_duty(cfg, self.horizon_h, rng["duty"]))
        access = None
        waves = [d for d in duties if hasattr(d, "wave_height_m")]
        if scenario.crews.max_wave_height_m is not None and waves:
            access = AccessWindows(waves[0].wave_height_m < scenario.crews.max_wave_height_m)
        self.maintenance = Maintenance(env, scenario.crews, scenario.spares, access)
        fed = {d for _, d in self.graph.edges}
        self.groups: list[GroupTwin] = []
        for (name, cfg), group, rng in zip(configs.items(), self.graph.groups, streams):
            log = self.log if group.offset == 0 else _OffsetLog(self.log, group.offset)
            fleet = Fleet(env, cfg, self.maintenance, log, rng["failures"], fed=any(a in fed for a in group.assets))
            self.groups.append(GroupTwin(name, cfg, kind_of(cfg), fleet))
        for twin, d, rng in zip(self.groups, duties, streams):
            if d is not None and (has_physics(twin.cfg) or self._custom_duty):
                self._attach_physics(twin, d, rng)
            twin.inspector = Inspector(env, scenario.policy, twin.fleet, self.maintenance, rng["inspection"])
        self._wire_supply()
        first = self.groups[0]  # a one-fleet scenario's parts, by their old names
        self.kind, self.fleet, self.physics, self.recorder, self.inspector = (
            first.kind, first.fleet, first.physics, first.recorder, first.inspector)

    def _attach_physics(self, twin: GroupTwin, duty, rng) -> None:
        sc, cfg = self.scenario, twin.cfg
        sensors = None
        if cfg.sensors:
            from simengine.sensors import SensorBank  # numpy/scipy only; imported where needed

            sensors = SensorBank(cfg.sensors, cfg.count, sc.sync_interval_h, sc.sensor_fidelity, rng["sensors"])
        recorded = np.arange(min(sc.outputs.record_assets, cfg.count))
        twin.recorder = Recorder(recorded, sc.outputs.record_interval_h, self.horizon_h)
        thresholds = [Threshold(m.quantity, m.limit) for m in cfg.physics_failures]
        twin.physics = FleetPhysics(
            self.env, twin.kind.build_params(cfg, rng["physics"]), twin.kind.initial_state(cfg, rng["physics"]), duty,
            thresholds, dt_h=sc.sync_interval_h, window_rows=int(round(sc.window_h / sc.sync_interval_h)),
            horizon_h=self.horizon_h, on_crossing=twin.fleet.physics_failure, sensors=sensors,
            on_alarm=lambda *a: twin.inspector.on_alarm(*a), recorder=twin.recorder,
        )
        twin.fleet.attach_physics(twin.physics)

    def _wire_supply(self) -> None:
        """An asset that stops or starts producing may starve or feed the assets it feeds: a fed asset is
        short of a dependency once more of its feeders there are out than its `need` allows."""
        if not self.graph.edges:
            return
        local = {group.offset + i: (twin.fleet, i)
                 for twin, group in zip(self.groups, self.graph.groups) for i in range(group.count)}
        out = [0] * len(self.graph.supplies)  # feeders not producing, per supply
        spare = [len(s.feeders) - s.need for s in self.graph.supplies]  # how many may be out
        fed = [local[s.asset] for s in self.graph.supplies]
        supplied: dict[int, list[int]] = {}
        for k, s in enumerate(self.graph.supplies):
            for u in s.feeders:
                supplied.setdefault(u, []).append(k)
        for twin, group in zip(self.groups, self.graph.groups):
            targets = [supplied.get(a, []) for a in group.assets]
            if not any(targets):
                continue

            def on_output(i: int, producing: bool, targets=targets) -> None:
                for k in targets[i]:
                    fleet, j = fed[k]
                    if producing:
                        if out[k] == spare[k] + 1:
                            fleet.feed(j)
                        out[k] -= 1
                    else:
                        out[k] += 1
                        if out[k] == spare[k] + 1:
                            fleet.starve(j)

            twin.fleet.on_output = on_output

    def run(self, progress: bool = False) -> ReplicaResult:
        """Run to the horizon; with `progress`, a bar of simulated years on stderr."""
        if progress:
            self._run_with_progress()
        else:
            self.env.run(until=self.horizon_h)
        for twin in self.groups:
            if twin.physics is not None:
                twin.physics.finish()
        kpis = self.kpis()
        catalogue = kpi_catalogue(self.scenario)
        wrong = out_of_range(kpis, catalogue)
        if wrong or list(kpis) != list(catalogue):  # a bug in the engine, not the user's: fail before it is averaged away
            raise RuntimeError(f"replica {self.replica}: KPIs disagree with simengine.engine.kpis.kpi_catalogue: "
                               f"{wrong or sorted(set(kpis) ^ set(catalogue))}")
        return ReplicaResult(
            replica=self.replica, seed_entropy=self.seed, kpis=kpis,
            events=self._events(), **self._series(),
        )

    def _run_with_progress(self) -> None:
        from tqdm import tqdm

        # Stopping at each physics window and going on gives the same event order as one run.
        step_h = self.scenario.window_h
        with tqdm(total=round(self.scenario.horizon_years, 3), unit="year", desc=f"replica {self.replica}",
                  leave=False, bar_format="{desc}: {n:.1f}/{total:g} years |{bar}| {elapsed}<{remaining}") as bar:
            t = 0.0
            while t < self.horizon_h:
                t = min(t + step_h, self.horizon_h)
                self.env.run(until=t)
                bar.update(round(t / HOURS_PER_YEAR - bar.n, 6))

    # -- outputs ------------------------------------------------------------------
    def kpis(self) -> dict[str, float]:
        T, maint, groups = self.horizon_h, self.maintenance, self.groups
        lost = [t.fleet.lost_h(T) for t in groups]
        rates = [_downtime_rate(t.cfg, self.scenario) for t in groups]
        capacity = [getattr(t.cfg, "capacity", 1.0) for t in groups]
        downtime = sum(t.fleet.downtime_until_h(T) for t in groups)
        physics = [t.physics for t in groups if t.physics is not None]
        leads = [self._lead_times(t) for t in groups]
        prevented = sum(len(x) for x in leads)
        lead = float(np.concatenate(leads).mean()) if prevented else math.nan
        maintenance_cost = (sum(t.inspector.cost_eur for t in groups) + sum(t.fleet.repair_cost_eur for t in groups)
                            + maint.labour_cost_eur + maint.parts_cost_eur)
        failure_cost = sum(t.fleet.failure_cost_eur for t in groups)
        downtime_cost = sum(h * rate for h, rate in zip(lost, rates))
        volume_saved = reduction = math.nan
        raw, sent = sum(p.raw_samples for p in physics), sum(p.transmitted for p in physics)
        if physics and raw > 0:
            volume_saved = 1.0 - sent / raw
            reduction = raw / max(sent, 1)
        # capacity-weighted time producing; one group: time up / time
        weighted_lost = sum(c * h for c, h in zip(capacity, lost))
        weighted_time = sum(c * t.fleet.n * T for c, t in zip(capacity, groups))
        plant = {
            "availability": 1.0 - weighted_lost / weighted_time,
            "failures": float(sum(t.fleet.failures for t in groups)),
            "structural_failures": float(sum(t.fleet.structural_failures for t in groups)),
            "failures_prevented": float(prevented),
            "detection_lead_time_h": lead,
            "downtime_h": downtime,
            "inspections": float(sum(t.inspector.inspections for t in groups)),
            "alarms": float(sum(t.inspector.alarms for t in groups)),
            "no_fault_found": float(sum(t.inspector.no_fault_found for t in groups)),
            "sensors_stuck": float(sum(len(p.stuck_events) for p in physics)),
            "sensors_replaced": float(sum(t.inspector.sensors_replaced for t in groups)),
            "work_orders": float(maint.work_orders),
            "preventive_replacements": float(sum(t.fleet.preventive_replacements for t in groups)),
            "crew_wait_h": maint.wait_h_until(T) / max(maint.work_orders, 1),
            "crew_utilisation": maint.crew_hours / (self.scenario.crews.count * T),
            "maintenance_cost_eur": maintenance_cost,
            "failure_cost_eur": failure_cost,
            "downtime_cost_eur": downtime_cost,
            "total_cost_eur": maintenance_cost + failure_cost + downtime_cost,
            "sensor_volume_saved": volume_saved,
            "sensor_reduction_factor": reduction,
        }
        if self.scenario.groups:
            for t, h, rate in zip(groups, lost, rates):
                plant.update(self._group_kpis(t, h, rate))
        return plant

    def _group_kpis(self, twin: GroupTwin, lost_h: float, rate: float) -> dict[str, float]:
        """One group's KPIs, named <group>.<kpi> (the crews' labour and the parts are the plant's)."""
        fleet, T = twin.fleet, self.horizon_h
        down = fleet.downtime_until_h(T)
        values = {
            "availability": 1.0 - down / (fleet.n * T),
            "producing": 1.0 - lost_h / (fleet.n * T),
            "failures": float(fleet.failures),
            "downtime_h": down,
            "lost_h": lost_h,
            "maintenance_cost_eur": twin.inspector.cost_eur + fleet.repair_cost_eur,
            "failure_cost_eur": fleet.failure_cost_eur,
            "downtime_cost_eur": lost_h * rate,
        }
        return {f"{twin.name}.{k}": v for k, v in values.items()}

    def _lead_times(self, twin: GroupTwin) -> np.ndarray:
        """Lead times of a group's planned repairs whose defect would have failed within the horizon."""
        det, physics = twin.fleet.detections, twin.physics
        if not det or physics is None:
            return np.zeros(0)
        modes = twin.cfg.physics_failures
        fail_at = physics.forecast_crossings(
            np.array([d[0] for d in det]), np.array([d[2] for d in det]), [d[3] for d in det],
            [modes[d[1]].quantity for d in det], np.array([modes[d[1]].limit for d in det]))
        within = np.isfinite(fail_at)
        return fail_at[within] - np.array([d[2] for d in det])[within]

    def _events(self) -> np.ndarray:
        events = self.log.to_array()
        stuck = [(t, a + group.offset, "sensor_stuck", float(s))
                 for twin, group in zip(self.groups, self.graph.groups) if twin.physics is not None
                 for t, a, s in twin.physics.stuck_events]
        if any(t.physics is not None for t in self.groups):
            events = np.concatenate([events, np.array(stuck, EventLog.DTYPE) if stuck else events[:0]])
            events = events[np.argsort(events["time_h"], kind="stable")]
        return events

    def _series(self) -> dict:
        recorded = [(twin, group) for twin, group in zip(self.groups, self.graph.groups) if twin.recorder is not None]
        if not recorded:
            times = np.arange(0.0, self.horizon_h + 1e-9, max(self.horizon_h / 500.0, 1.0))
            series, units, assets = {}, {}, np.zeros(0, int)
        else:  # the groups' recorded assets side by side, in plant numbering
            parts = [twin.recorder.arrays() for twin, _ in recorded]
            times, units = parts[0][0], parts[0][2]
            series = {name: np.concatenate([p[1][name] for p in parts], axis=1) for name in parts[0][1]}
            assets = np.concatenate([twin.recorder.assets + group.offset for twin, group in recorded])
        if not self.scenario.groups:
            series["available_fraction"] = self.fleet.available_fraction(times)[:, None]
            units["available_fraction"] = "1"
        else:
            series.update(self._plant_series(times))
            units.update({name: "1" for name in series if name.endswith("_fraction")})
        return {"series_time_h": times, "series": series, "series_units": units, "recorded_assets": assets}

    def _plant_series(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Capacity-weighted fraction producing for the plant; up and producing fractions by group."""
        out, weighted, weight = {}, 0.0, 0.0
        for twin in self.groups:
            fleet, capacity = twin.fleet, twin.cfg.capacity
            producing = fleet.producing_fraction(times)
            out[f"{twin.name}.available_fraction"] = fleet.available_fraction(times)[:, None]
            out[f"{twin.name}.producing_fraction"] = producing[:, None]
            weighted = weighted + capacity * fleet.n * producing
            weight += capacity * fleet.n
        return {"available_fraction": (weighted / weight)[:, None], **out}


def _downtime_rate(cfg: FleetConfig, scenario: ScenarioConfig) -> float:
    """Cost of a group's asset-hour not producing, EUR/h: its own rate, else the plant's."""
    own = getattr(cfg, "downtime_eur_per_h", None)
    return scenario.costs.downtime_eur_per_h if own is None else own


def run_replica(scenario: ScenarioConfig, seed: int, replica: int = 0, progress: bool = False) -> ReplicaResult:
    """Run one replica of `scenario`; the same (seed, replica) gives the same result anywhere."""
    return Replica(scenario, seed, replica).run(progress)
