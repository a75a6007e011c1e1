"""Crew waits count the work orders still waiting when the horizon ends."""

import simpy

from simengine.config.scenario import CrewConfig
from simengine.engine.maintenance import FAILURE, Maintenance


def test_orders_still_waiting_at_the_horizon_count_their_wait():
    env = simpy.Environment()
    maintenance = Maintenance(env, CrewConfig(count=1, travel_h=0.0), {})
    for _ in range(3):
        env.process(maintenance.perform(FAILURE, 10.0))
    env.run(until=15.0)
    # One crew: order 1 works 0-10, order 2 waited 10 h and works, order 3 has waited 15 h and still waits.
    assert maintenance.wait_h == 10.0
    assert maintenance.wait_h_until(15.0) == 25.0


def test_a_saturated_crew_shows_long_waits_in_the_kpi():
    from simengine.api import load_scenario
    from simengine.engine.simulation import Replica

    scenario = load_scenario("crane_fleet", {"fleet.count": 60, "crews.count": 1, "crews.shifts": [[8.0, 9.0]],
                                             "horizon_years": 0.5})
    replica = Replica(scenario, seed=2)
    kpis = replica.run().kpis
    maintenance = replica.maintenance
    assert maintenance.crews.queued > 0  # orders left waiting at the horizon
    expected = maintenance.wait_h_until(replica.horizon_h) / maintenance.work_orders
    assert kpis["crew_wait_h"] == expected > maintenance.wait_h / maintenance.work_orders
