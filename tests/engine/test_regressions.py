"""Regressions from review: each once let a KPI lie."""

import numpy as np

from simengine.config import build
from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import Replica
from simengine.units import HOURS_PER_YEAR
from simengine.physics.asset import AssetInputs


class MinerDuty:
    """Miner damage grows by dt/period per interval; wear runs at its reference temperature."""

    def __init__(self, period_h):
        self.period_h = period_h

    def inputs(self, t0_h, n_rows, dt_h):
        z = np.zeros((n_rows, 1))
        return AssetInputs(paris_driver=z, miner_increment=z + dt_h / self.period_h, heat_W=z,
                           ambient_C=z + 60.0, load_factor=z + 1.0)


def fixed(hours):
    return {"work": {"kind": "fixed", "mean": hours}}


def scenario(horizon_h, **fleet):
    base = {"count": 1, "crack": {"paris_C": {"median": 0.0}}, "thermal": {"initial_C": 60.0}}
    return build(ScenarioConfig, {"horizon_years": horizon_h / HOURS_PER_YEAR, "fleet": {**base, **fleet},
                                  "crews": {"count": 1, "travel_h": 0.0}, "policy": {"kind": "corrective"}})


def kinds(result, *names):
    return [(round(float(t), 6), str(k)) for t, _, k, _ in result.events if k in names]


def test_a_failure_of_another_mode_during_a_planned_repair_is_not_lost():
    sc = build(ScenarioConfig, {
        "horizon_years": 1000 / HOURS_PER_YEAR,
        "fleet": {"count": 1, "crack": {"paris_C": {"median": 0.0}}, "thermal": {"initial_C": 60.0},
                  "wear": {"rate_per_h": {"median": 1 / 200}, "reference_C": 60.0},
                  "physics_failures": [{"name": "blade", "quantity": "damage", "limit": 1.0, "repair": fixed(10)},
                                       {"name": "bearing", "quantity": "wear", "limit": 1.0, "planned_repair": fixed(200)}]},
        "crews": {"count": 1, "travel_h": 0.0},
        "policy": {"kind": "scheduled", "inspection": {"interval_h": 120, "duration_h": 1}},
    })
    result = Replica(sc, 0, 0, duty=MinerDuty(130.0)).run()
    assert result.kpis["structural_failures"] >= 1


def test_a_repaired_assets_sensors_watch_again_at_once():
    sc = scenario(400.0, physics_failures=[{"name": "d", "quantity": "damage", "limit": 1.0, "repair": fixed(10)}],
                  sensors=[{"name": "load", "observes": "load_factor", "noise_sd": 0.01, "alarm": {"level": 0.5}}])
    result = Replica(sc, 0, 0, duty=MinerDuty(50.0)).run()
    events = kinds(result, "alarm", "repair_end")
    first_repair = next(t for t, k in events if k == "repair_end")
    assert (first_repair + 1.0, "alarm") in [(round(t, 6), k) for t, k in events]


def test_without_access_work_orders_stay_open_and_cost_nothing():
    sc = build(ScenarioConfig, {
        "horizon_years": 2.0, "fleet": {"count": 4, "duty": {"kind": "wind"},
                                        "components": [{"name": "converter", "life": {"kind": "fixed", "mean": 1000}}]},
        "crews": {"count": 1, "max_wave_height_m": 0.01}, "policy": {"kind": "corrective"},
    })
    result = Replica(sc, 0, 0).run()
    assert result.kpis["maintenance_cost_eur"] == 0
    # every turbine broke at 1000 h and is still waiting at the horizon
    assert result.kpis["availability"] == np.float64(1 - 4 * (2 * HOURS_PER_YEAR - 1000) / (4 * 2 * HOURS_PER_YEAR))


def test_no_fault_found_re_arms_alarms_after_the_hold_off():
    sc = build(ScenarioConfig, {
        "horizon_years": 2000 / HOURS_PER_YEAR,
        "fleet": {"count": 1, "crack": {"paris_C": {"median": 0.0}}, "thermal": {"initial_C": 60.0},
                  "physics_failures": [{"name": "d", "quantity": "damage", "limit": 1e9}],
                  "sensors": [{"name": "load", "observes": "load_factor", "noise_sd": 0.01, "alarm": {"level": 0.5}}]},
        "crews": {"count": 1, "travel_h": 0.0},
        "policy": {"kind": "condition_based", "rearm_after_h": 500.0, "inspection": {"duration_h": 2.0}},
    })
    result = Replica(sc, 0, 0, duty=MinerDuty(1e12)).run()
    alarms = [t for t, k in kinds(result, "alarm")]
    # alarm at 1 h, visit finds nothing at 3 h, re-armed at 503 h: alarm at the end of its first interval, 504 h
    assert alarms[:3] == [1.0, 504.0, 1007.0]
    assert result.kpis["no_fault_found"] == 4  # at 1, 504, 1007 and 1510 h
