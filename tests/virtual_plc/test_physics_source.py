"""The virtual PLC's physics source: tags from the scenario and its kind, hidden truth, determinism."""

import numpy as np
import pytest

import simengine
from simengine.kinds.base import PlcCounter, load_cycle
from simengine.kinds.crane import CRANE
from simengine.kinds.wind import WIND
from simengine.physics.thermal import thermal_step
from simengine.plc.tags import LOAD_COUNTER
from simengine.virtual_plc import PhysicsSource


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
    np.testing.assert_allclose(counters[-1] * src.heat_at_rated_load_W, heat_J, rtol=1e-12)
    assert np.all(np.diff(counters, axis=0) >= 0) and counters[-1].min() > 0.0
    coarse = PhysicsSource(scenario, [0], seed=2)  # a step over whole lift cycles: their mean heat
    heat_W = float(np.asarray(coarse._inputs(3600.0).heat_W)[0])
    assert coarse.step(3600.0)[-2] * coarse.heat_at_rated_load_W == pytest.approx(heat_W * 3600.0, rel=1e-12)


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


def test_a_kind_without_a_load_cycle_holds_the_hours_inputs_and_serves_no_counter():
    """A wind turbine (no `load_cycle`, no PLC counter) is served from its duty's hourly inputs as they are."""
    wind = simengine.load_scenario("wind_farm", {"fleet.count": 2})
    assert load_cycle(WIND, WIND.settings(wind.fleet.duty), 1, np.random.default_rng(0)) is None
    src = PhysicsSource(wind, [1], seed=1)
    assert src.cycle is None and [t.quantity for t in src.tagmap().tags].count(LOAD_COUNTER) == 0
    hourly = src.duty.inputs(0.0, 1, 1.0 / 3600.0)
    inputs = src._inputs(1.0)
    for field in ("heat_W", "load_factor", "ambient_C", "paris_driver"):
        assert np.asarray(getattr(inputs, field))[0] == np.asarray(getattr(hourly, field))[0, 1]
    assert src.step(1.0).size == len(src.tagmap().tags)


def test_the_crane_kind_supplies_its_lift_cycle(scenario):
    settings = CRANE.settings(scenario.fleet.duty)
    cycle = load_cycle(CRANE, settings, 2, np.random.default_rng(0))
    period = 3600.0 / settings.lifts_per_h
    hourly = {"heat_W": np.full(2, 7.0), "load_factor": np.full(2, 0.4)}
    lifting, returning = cycle.inputs(0.0, 1.0, hourly), cycle.inputs(period / 2, 1.0, hourly)
    load = cycle.lift_t / settings.rated_load_t
    assert set(cycle.lift_t) <= set(settings.load_classes_t)
    np.testing.assert_array_equal(lifting["load_factor"], load)  # the container on the boom
    np.testing.assert_allclose(lifting["heat_W"], CRANE.heat_at_rated_load_W(settings) * load, rtol=1e-15)
    assert not returning["load_factor"].any() and not returning["heat_W"].any()  # back empty: no load, no heat
    whole = cycle.inputs(0.0, period, hourly)  # a scan over whole cycles: the hour's heat, the load half the time
    np.testing.assert_array_equal(whole["heat_W"], hourly["heat_W"])
    np.testing.assert_array_equal(whole["load_factor"], np.full(2, 0.2))
    half_and_half = cycle.inputs(period / 4, period / 2, hourly)  # straddles the end of the lift
    np.testing.assert_allclose(half_and_half["heat_W"], 0.5 * lifting["heat_W"], rtol=1e-12)


def test_a_kind_whose_counter_the_virtual_plc_cannot_count_is_refused(scenario, monkeypatch):
    monkeypatch.setattr(CRANE, "plc_counters", (PlcCounter("energy_Wh", "Wh", "an energy meter"),))
    with pytest.raises(ValueError, match=r"PLC counters \['energy_Wh'\]; the virtual PLC counts load_time_s"):
        PhysicsSource(scenario, [0])
