"""The engine's classic machine-repair model against the exact finite-source queue."""

import pytest

from simengine.bench.machine_repair import exact_availability, plain_simpy, scenario
from simengine.engine.simulation import run_replica


def test_availability_matches_the_exact_MMcN_queue():
    exact = exact_availability(50, 3, 100.0, 8.0)
    ours = run_replica(scenario(horizon_h=2.0e5), seed=5).kpis["availability"]
    theirs = plain_simpy(horizon_h=2.0e5, seed=5)["availability"]
    assert ours == pytest.approx(exact, abs=0.01)
    assert theirs == pytest.approx(exact, abs=0.01)


def test_exact_availability_of_a_single_machine():
    # one machine, one crew: up fraction mttf / (mttf + mttr)
    assert exact_availability(1, 1, 100.0, 8.0) == pytest.approx(100 / 108)
