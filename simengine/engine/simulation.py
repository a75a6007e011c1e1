"""One replica: build the co-simulation from a scenario, run it, report KPIs.

`run_replica(scenario, seed, replica)` is a pure function of its arguments:
its random streams come from ``SeedSequence(seed, spawn_key=(replica,))``, so
results do not depend on the executor, the worker count or the order.
"""

from __future__ import annotations

import math

import numpy as np
import simpy

from simengine.config.scenario import ScenarioConfig
from simengine.engine.calendar import AccessWindows
from simengine.engine.fleet import EventLog, Fleet
from simengine.engine.fleet_physics import FleetPhysics, Threshold
from simengine.engine.kpis import KPIS, out_of_range
from simengine.engine.maintenance import Maintenance
from simengine.engine.policies import Inspector
from simengine.engine.recorder import Recorder
from simengine.kinds.registry import kind_of
from simengine.results.store import ReplicaResult
from simengine.units import HOURS_PER_YEAR

STREAMS = ("physics", "duty", "failures", "maintenance", "inspection", "sensors")


def replica_streams(seed: int, replica: int) -> dict[str, np.random.Generator]:
    root = np.random.SeedSequence(seed, spawn_key=(replica,))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, root.spawn(len(STREAMS)))}


def has_physics(scenario: ScenarioConfig) -> bool:
    """Whether anything needs the physics: a physics failure mode or a sensor."""
    fleet = scenario.fleet
    return bool(fleet.physics_failures or fleet.sensors)


class Replica:
    """The wired-up co-simulation of one replica.

    `duty` replaces the scenario's duty model: any object with
    ``inputs(t0_h, n_rows, dt_h) -> AssetInputs`` (arrays (n_rows, n_assets)).
    """

    def __init__(self, scenario: ScenarioConfig, seed: int, replica: int = 0, duty=None):
        self.scenario, self.seed, self.replica = scenario, seed, replica
        self._custom_duty = duty is not None
        self.horizon_h = scenario.horizon_years * HOURS_PER_YEAR
        rng = replica_streams(seed, replica)
        self.env = env = simpy.Environment()
        self.log = EventLog()
        fleet_cfg = scenario.fleet
        self.kind = kind_of(fleet_cfg)
        if duty is None:  # None for a kind without physics loads
            duty = self.kind.build_duty(fleet_cfg, self.horizon_h, rng["duty"])  # the weather decides access too
        access = None
        if scenario.crews.max_wave_height_m is not None and hasattr(duty, "wave_height_m"):
            access = AccessWindows(duty.wave_height_m < scenario.crews.max_wave_height_m)
        self.maintenance = Maintenance(env, scenario.crews, scenario.spares, access)
        self.fleet = Fleet(env, fleet_cfg, self.maintenance, self.log, rng["failures"])
        self.physics = None
        self.recorder = None
        if duty is not None and (has_physics(scenario) or self._custom_duty):
            self._attach_physics(duty, rng)
        self.inspector = Inspector(env, scenario.policy, self.fleet, self.maintenance, rng["inspection"])

    def _attach_physics(self, duty, rng) -> None:
        sc = self.scenario
        sensors = None
        if sc.fleet.sensors:
            from simengine.sensors import SensorBank  # numpy/scipy only; imported where needed

            sensors = SensorBank(sc.fleet.sensors, sc.fleet.count, sc.sync_interval_h, sc.sensor_fidelity, rng["sensors"])
        recorded = np.arange(min(sc.outputs.record_assets, sc.fleet.count))
        self.recorder = Recorder(recorded, sc.outputs.record_interval_h, self.horizon_h)
        thresholds = [Threshold(m.quantity, m.limit) for m in sc.fleet.physics_failures]
        self.physics = FleetPhysics(
            self.env, self.kind.build_params(sc.fleet, rng["physics"]), self.kind.initial_state(sc.fleet, rng["physics"]), duty,
            thresholds, dt_h=sc.sync_interval_h, window_rows=int(round(sc.window_h / sc.sync_interval_h)),
            horizon_h=self.horizon_h, on_crossing=self.fleet.physics_failure, sensors=sensors,
            on_alarm=lambda *a: self.inspector.on_alarm(*a), recorder=self.recorder,
        )
        self.fleet.attach_physics(self.physics)

    def run(self, progress: bool = False) -> ReplicaResult:
        """Run to the horizon; with `progress`, a bar of simulated years on stderr."""
        if progress:
            self._run_with_progress()
        else:
            self.env.run(until=self.horizon_h)
        if self.physics is not None:
            self.physics.finish()
        kpis = self.kpis()
        wrong = out_of_range(kpis)
        if wrong or list(kpis) != list(KPIS):  # a bug in the engine, not the user's: fail before it is averaged away
            raise RuntimeError(f"replica {self.replica}: KPIs disagree with simengine.engine.kpis.KPIS: "
                               f"{wrong or sorted(set(kpis) ^ set(KPIS))}")
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
        fleet, insp, maint = self.fleet, self.inspector, self.maintenance
        downtime = fleet.downtime_h + fleet.open_downtime_h(self.horizon_h)
        prevented, lead = self._prevented()
        maintenance_cost = insp.cost_eur + fleet.repair_cost_eur + maint.labour_cost_eur + maint.parts_cost_eur
        downtime_cost = downtime * self.scenario.costs.downtime_eur_per_h
        physics = self.physics
        volume_saved = reduction = math.nan
        if physics is not None and physics.raw_samples > 0:
            volume_saved = 1.0 - physics.transmitted / physics.raw_samples
            reduction = physics.raw_samples / max(physics.transmitted, 1)
        return {
            "availability": 1.0 - downtime / (fleet.n * self.horizon_h),
            "failures": float(fleet.failures),
            "structural_failures": float(fleet.structural_failures),
            "failures_prevented": float(prevented),
            "detection_lead_time_h": lead,
            "downtime_h": downtime,
            "inspections": float(insp.inspections),
            "alarms": float(insp.alarms),
            "no_fault_found": float(insp.no_fault_found),
            "sensors_stuck": float(len(physics.stuck_events)) if physics is not None else 0.0,
            "sensors_replaced": float(insp.sensors_replaced),
            "work_orders": float(maint.work_orders),
            "preventive_replacements": float(fleet.preventive_replacements),
            "crew_wait_h": maint.wait_h_until(self.horizon_h) / max(maint.work_orders, 1),
            "crew_utilisation": maint.crew_hours / (self.scenario.crews.count * self.horizon_h),
            "maintenance_cost_eur": maintenance_cost,
            "failure_cost_eur": fleet.failure_cost_eur,
            "downtime_cost_eur": downtime_cost,
            "total_cost_eur": maintenance_cost + fleet.failure_cost_eur + downtime_cost,
            "sensor_volume_saved": volume_saved,
            "sensor_reduction_factor": reduction,
        }

    def _prevented(self) -> tuple[int, float]:
        """Planned repairs whose defect would have failed within the horizon, and the mean lead time."""
        det = self.fleet.detections
        if not det or self.physics is None:
            return 0, math.nan
        modes = self.scenario.fleet.physics_failures
        fail_at = self.physics.forecast_crossings(
            np.array([d[0] for d in det]), np.array([d[2] for d in det]), [d[3] for d in det],
            [modes[d[1]].quantity for d in det], np.array([modes[d[1]].limit for d in det]))
        within = np.isfinite(fail_at)
        if not within.any():
            return 0, math.nan
        lead = fail_at[within] - np.array([d[2] for d in det])[within]
        return int(within.sum()), float(lead.mean())

    def _events(self) -> np.ndarray:
        events = self.log.to_array()
        if self.physics is not None:
            stuck = [(t, a, "sensor_stuck", float(s)) for t, a, s in self.physics.stuck_events]
            events = np.concatenate([events, np.array(stuck, EventLog.DTYPE) if stuck else events[:0]])
            events = events[np.argsort(events["time_h"], kind="stable")]
        return events

    def _series(self) -> dict:
        if self.recorder is None:
            times = np.arange(0.0, self.horizon_h + 1e-9, max(self.horizon_h / 500.0, 1.0))
            series, units, assets = {}, {}, np.zeros(0, int)
        else:
            times, series, units = self.recorder.arrays()
            assets = self.recorder.assets
        series["available_fraction"] = self.fleet.available_fraction(times)[:, None]
        units["available_fraction"] = "1"
        return {"series_time_h": times, "series": series, "series_units": units, "recorded_assets": assets}


def run_replica(scenario: ScenarioConfig, seed: int, replica: int = 0, progress: bool = False) -> ReplicaResult:
    """Run one replica of `scenario`; the same (seed, replica) gives the same result anywhere."""
    return Replica(scenario, seed, replica).run(progress)
