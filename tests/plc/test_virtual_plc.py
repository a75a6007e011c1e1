"""The virtual PLC's physics source: tags from the scenario, hidden truth, determinism."""

import numpy as np
import pytest

import simengine
from simengine.physics.thermal import thermal_step
from simengine.plc.virtual_plc import PhysicsSource


@pytest.fixture(scope="module")
def scenario():
    return simengine.load_scenario("crane_fleet", {"fleet.count": 3})


def test_tag_map_has_one_float32_tag_per_sensor(scenario):
    src = PhysicsSource(scenario, [0, 2])
    m = src.tagmap()
    sensors = 2 * sum(s.per_asset for s in scenario.fleet.sensors)
    assert len(m.tags) == sensors + 2 + 1  # a load counter per crane, the clock
    assert m.tags[0].name == "sts_crane00.boom_frequency.0" and m.tags[sensors - 1].asset == 2
    counters = m.tags[sensors:sensors + 2]  # rated-load seconds hoisted, float64 like a PLC's totaliser
    assert [(t.name, t.quantity, t.dtype, t.modbus.address) for t in counters] == [
        ("sts_crane00.load_time_s", "load_time_s", "float64", 2 * sensors),
        ("sts_crane02.load_time_s", "load_time_s", "float64", 2 * sensors + 4)]
    clock = m.tags[-1]  # the PLC's clock: simulated seconds of each scan
    assert (clock.name, clock.dtype, clock.modbus.address) == ("sts_crane.plc_clock_s", "float64", 2 * sensors + 8)
    assert src.step(2.0)[-1] == 2.0 and src.step(3.0)[-1] == 5.0
    assert [t.modbus.address for t in m.tags[:3]] == [0, 2, 4]


def test_load_counter_integrates_the_load_that_heats_the_motor(scenario):
    """Over any run of scans, the counter's increase times the hoist's heat at rated load is the heat
    the motor took: what a reader that missed scans needs."""
    src = PhysicsSource(scenario, [0, 1], seed=2)
    heat_J = np.zeros(2)
    rows = []
    for _ in range(400):
        heat_J += np.asarray(src._inputs(1.0).heat_W) * 1.0
        rows.append(src.step(1.0))
    counters = np.array(rows)[:, -3:-1]
    np.testing.assert_allclose(counters[-1] * src.hoist_heat_W, heat_J, rtol=1e-12)
    assert np.all(np.diff(counters, axis=0) >= 0) and counters[-1].min() > 0.0
    coarse = PhysicsSource(scenario, [0], seed=2)  # a step over whole lift cycles: their mean heat
    heat_W = float(np.asarray(coarse._inputs(3600.0).heat_W)[0])
    assert coarse.step(3600.0)[-2] * coarse.hoist_heat_W == pytest.approx(heat_W * 3600.0, rel=1e-12)


def test_same_seed_same_samples_and_true_parameters_are_hidden_but_used(scenario):
    a = PhysicsSource(scenario, [0], seed=4, true_params={"thermal_tau_s": 600.0})
    b = PhysicsSource(scenario, [0], seed=4, true_params={"thermal_tau_s": 600.0})
    np.testing.assert_array_equal(np.array([a.step() for _ in range(5)]), np.array([b.step() for _ in range(5)]))
    assert a.params.thermal_tau_s[0] == 600.0
    with pytest.raises(ValueError, match="unknown"):
        PhysicsSource(scenario, [0], true_params={"tau": 1.0})
    with pytest.raises(ValueError, match=r"assets = \[7\]"):
        PhysicsSource(scenario, [7])


def test_motor_temperature_follows_the_rc_law_with_the_lift_cycle(scenario):
    src = PhysicsSource(scenario, [0], true_params={"thermal_tau_s": 900.0})
    p = src.params
    T = T0 = float(src.truth()["temp_C"][0])
    for _ in range(600):
        inputs = src._inputs(1.0)
        src.step(1.0)
        T = float(thermal_step(T, inputs.heat_W[0], inputs.ambient_C[0], 1.0, 900.0, p.thermal_resistance_K_per_W[0]))
    assert float(src.truth()["temp_C"][0]) == pytest.approx(T, rel=1e-12)
    assert T - T0 > 3.0  # a cold motor warms up within ten minutes of lifting
