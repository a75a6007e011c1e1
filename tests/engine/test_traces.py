"""Micro-scenarios with exact event traces (closed-form times)."""

import numpy as np
import pytest

from simengine.config import build
from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import Replica
from simengine.units import HOURS_PER_YEAR
from simengine.physics import paris_driver_to_grow
from simengine.physics.asset import AssetInputs

A0, A_CRIT, C, M, Y = 1e-3, 0.02, 1.65e-11, 3.0, 1.12
LIFE_H = 1500.3  # hours from A0 to A_CRIT under ConstantDuty


class ConstantDuty:
    """The same load every hour: the crack reaches A_CRIT after exactly LIFE_H hours."""

    driver_per_h = float(paris_driver_to_grow(A0, A_CRIT, C, M, Y)) / LIFE_H

    def __init__(self, n_assets=1):
        self.n = n_assets

    def inputs(self, t0_h, n_rows, dt_h):
        ones = np.ones((n_rows, self.n))
        return AssetInputs(paris_driver=ones * self.driver_per_h * dt_h, miner_increment=0 * ones,
                           heat_W=0 * ones, ambient_C=20 * ones, load_factor=ones)


def crack_scenario(horizon_h, **over):
    data = {
        "horizon_years": horizon_h / HOURS_PER_YEAR,
        "fleet": {"count": 1, "crack": {"paris_C": {"median": C}, "initial_flaw_m": {"median": A0}},
                  "physics_failures": [{"name": "joint", "quantity": "crack_m", "limit": A_CRIT,
                                        "repair": {"work": {"kind": "fixed", "mean": 48}},
                                        "planned_repair": {"work": {"kind": "fixed", "mean": 10}}}]},
        "crews": {"count": 1, "travel_h": 0.0},
        "policy": {"kind": "corrective"},
    }
    for key, value in over.items():
        node = data
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return build(ScenarioConfig, data)


def trace(replica, kinds=("failure", "repair_start", "repair_end", "inspection", "detection")):
    return [(round(t, 6), a, k) for t, a, k, _ in replica.log.rows if k in kinds]


def test_physics_failure_at_the_closed_form_time_and_repair_resets_the_crack():
    rep = Replica(crack_scenario(3200.0), seed=1, duty=ConstantDuty())
    rep.run()
    # the repair ends at 1548.3; its new weld starts at the next interval boundary, 1549 h
    assert trace(rep) == [
        (1500.3, 0, "failure"), (1500.3, 0, "repair_start"), (1548.3, 0, "repair_end"),
        (1549 + LIFE_H, 0, "failure"), (1549 + LIFE_H, 0, "repair_start"), (1549 + LIFE_H + 48, 0, "repair_end"),
    ]


def test_inspection_detects_a_crack_and_the_planned_repair_prevents_the_failure():
    sc = crack_scenario(3200.0, **{"policy.kind": "scheduled",
                                   "policy.inspection": {"interval_h": 1000.0, "duration_h": 4.0,
                                                         "pod_a50_m": 1e-9, "pod_slope": 0.01}})
    rep = Replica(sc, seed=1, duty=ConstantDuty())
    result = rep.run()
    expected = []
    for t in (1004.0, 2004.0, 3004.0):
        expected += [(t, 0, "inspection"), (t, 0, "detection"), (t, 0, "repair_start"), (t + 10, 0, "repair_end")]
    assert trace(rep) == expected
    # the first two cracks would have failed within the horizon (1500.3 h and 1014 + 1500.3 h)
    assert result.kpis["failures"] == 0
    assert result.kpis["failures_prevented"] == 2
    lead = ((1500.3 - 1004.0) + (1014.0 + LIFE_H - 2004.0)) / 2
    assert result.kpis["detection_lead_time_h"] == pytest.approx(lead, abs=1e-6)


def test_component_failure_and_repair_trace():
    sc = build(ScenarioConfig, {
        "horizon_years": 300 / HOURS_PER_YEAR,
        "fleet": {"count": 1, "duty": {"kind": "none"},
                  "components": [{"name": "motor", "life": {"kind": "fixed", "mean": 100},
                                  "repair": {"work": {"kind": "fixed", "mean": 8}}}]},
        "crews": {"count": 1, "travel_h": 0.0}, "policy": {"kind": "corrective"},
    })
    rep = Replica(sc, seed=0)
    result = rep.run()
    assert trace(rep, ("breakdown", "breakdown_fixed")) == [
        (100.0, 0, "breakdown"), (108.0, 0, "breakdown_fixed"), (208.0, 0, "breakdown"), (216.0, 0, "breakdown_fixed")]
    assert result.kpis["downtime_h"] == pytest.approx(16.0)
    assert result.kpis["availability"] == pytest.approx(1 - 16 / 300)


def test_crew_on_shift_waits_for_the_shift_and_pauses_overnight():
    sc = build(ScenarioConfig, {
        "horizon_years": 200 / HOURS_PER_YEAR,
        "fleet": {"count": 1, "duty": {"kind": "none"},
                  "components": [{"name": "motor", "life": {"kind": "fixed", "mean": 100},
                                  "repair": {"work": {"kind": "fixed", "mean": 10}}}]},
        "crews": {"count": 1, "travel_h": 0.5, "shifts": [[8, 16]]}, "policy": {"kind": "corrective"},
    })
    rep = Replica(sc, seed=0)
    rep.run()
    # fails at 100 h (day 4, 04:00); the shift starts at 08:00 (104 h), travel to 104.5 h;
    # 7.5 h of work by 16:00 (112 h), the last 2.5 h from 08:00 next day (128 h): done at 130.5 h
    assert trace(rep, ("breakdown", "breakdown_fixed")) == [(100.0, 0, "breakdown"), (130.5, 0, "breakdown_fixed")]


def test_failures_wait_for_the_only_crew_in_priority_order():
    sc = build(ScenarioConfig, {
        "horizon_years": 150 / HOURS_PER_YEAR,
        "fleet": {"count": 3, "duty": {"kind": "none"},
                  "components": [{"name": "motor", "life": {"kind": "fixed", "mean": 100},
                                  "repair": {"work": {"kind": "fixed", "mean": 5}}}]},
        "crews": {"count": 1, "travel_h": 0.0}, "policy": {"kind": "corrective"},
    })
    rep = Replica(sc, seed=0)
    rep.run()
    fixed = [(t, a) for t, a, k in trace(rep, ("breakdown_fixed",))]
    assert fixed == [(105.0, 0), (110.0, 1), (115.0, 2)]  # one crew, first come first served


def test_crossing_in_a_later_window_and_mid_interval_is_exact():
    for life in (5.5, 170.25, 1000.0 / 3):
        duty = ConstantDuty()
        duty.driver_per_h = float(paris_driver_to_grow(A0, A_CRIT, C, M, Y)) / life
        rep = Replica(crack_scenario(400.0), seed=0, duty=duty)
        rep.run()
        assert rep.log.rows[0][0] == pytest.approx(life, rel=1e-12)


def test_planned_repair_waits_for_the_spare_part_lead_time():
    sc = crack_scenario(1500.0, **{
        "policy.kind": "scheduled",
        "policy.inspection": {"interval_h": 1000.0, "duration_h": 4.0, "pod_a50_m": 1e-9, "pod_slope": 0.01},
        "fleet.physics_failures": [{"name": "joint", "quantity": "crack_m", "limit": A_CRIT,
                                    "planned_repair": {"work": {"kind": "fixed", "mean": 10}, "part": "kit"}}],
        "spares": {"kit": {"initial": 0, "reorder_point": 0, "order_quantity": 1, "lead_time_h": 100.0}},
    })
    rep = Replica(sc, seed=1, duty=ConstantDuty())
    rep.run()
    # found at 1004 h; the store is empty, so the kit is ordered then and arrives at 1104 h
    assert trace(rep) == [(1004.0, 0, "inspection"), (1004.0, 0, "detection"), (1004.0, 0, "repair_start"),
                          (1114.0, 0, "repair_end")]
