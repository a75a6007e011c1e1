"""The registry of asset kinds: built-ins, a user's kind by dotted path, and the quantity catalogue."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from simengine.api import load_scenario
from simengine.config import ConfigError, build
from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import Replica, replica_streams
from simengine.kinds import kind_of, resolve
from simengine.kinds.quantities import OBSERVABLES

# the README's pump (tests/kinds/my_kinds.py), 3 pumps for half a year, repaired only when they fail; on the
# crane fleet, whose duty (the crane's settings beside its kind) the pump's replaces: null first, then the pump's
PUMP = {"running_fraction": 0.6, "pulses_per_h": 5000.0, "stress_MPa": 30.0}
PUMPS = {"fleet.kind": "pump", "fleet.duty": None, "fleet.duty.kind": "my_kinds:Pump", "fleet.count": 3,
         "horizon_years": 0.5, "fleet.sensors": [], "fleet.components": [], "policy.kind": "corrective",
         **{f"fleet.duty.{name}": value for name, value in PUMP.items()}}


def test_the_built_in_kinds_and_their_yaml_names():
    crane, wind, bare = resolve("crane"), resolve("wind"), resolve("none")
    assert resolve("lifts") is crane and crane.name == "crane"
    assert kind_of(load_scenario("crane_fleet").fleet) is crane
    assert kind_of(load_scenario("wind_farm").fleet) is wind
    assert wind.sea_state and not crane.sea_state
    assert bare.quantities == () and bare.build_duty(load_scenario("crane_fleet").fleet, 24.0, None) is None
    assert [c.quantity for c in crane.plc_counters] == ["load_time_s"] and wind.plc_counters == ()


def test_what_the_kinds_declare_matches_the_code_that_uses_it():
    from simengine.calibration.model import PARAMETERS
    from simengine.physics.asset import Observation

    crane = resolve("crane")
    assert crane.fittable == PARAMETERS and resolve("wind").fittable == ()
    assert set(OBSERVABLES) == {f.name for f in dataclasses.fields(Observation)}


def test_checking_a_configuration_imports_neither_numpy_nor_jax():
    code = ("import sys\nfrom simengine.config import build\nfrom simengine.config.scenario import ScenarioConfig\n"
            "from simengine.kinds import resolve\n"
            "build(ScenarioConfig, {'fleet': {'duty': {'kind': 'wind'}}, 'crews': {'max_wave_height_m': 1.5}})\n"
            "resolve('crane'); resolve('none')\n"
            "print(sorted(m for m in ('numpy', 'jax', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_a_user_kind_named_by_dotted_path_drives_the_physics():
    scenario = load_scenario("crane_fleet", PUMPS)
    replica = Replica(scenario, seed=3)
    assert type(replica.kind).__module__ == "my_kinds" and type(replica.physics.duty).__name__ == "PumpLoads"
    result = replica.run()
    # independent of the engine: the same hours drawn again, Basquin below the knee (m2 = 5) by hand
    running = replica_streams(3, 0)["duty"].random((int(0.5 * 8760.0) + 1, 3)) < 0.6
    knee_MPa = 71.0 * (2.0e6 / 5.0e6) ** (1.0 / 3.0)
    per_running_hour = 5000.0 / (5.0e6 * (knee_MPa / 30.0) ** 5)
    hours = result.series_time_h.astype(int)
    expected = np.array([running[:h].sum(0) for h in hours])[:, result.recorded_assets] * per_running_hour
    repaired = set(result.events["asset"].tolist())  # a repair resets the physics
    keep = [j for j, a in enumerate(result.recorded_assets) if int(a) not in repaired]
    assert keep, "every recorded pump was repaired: nothing to compare"
    np.testing.assert_allclose(result.series["miner_damage"][:, keep], expected[:, keep], rtol=1e-9, atol=1e-12)
    assert result.series["miner_damage"][-1, keep].max() > 0.01


@pytest.mark.parametrize("overrides, field, words", [
    ({"fleet.duty.kind": "pumpp"}, "fleet.duty.kind", ["unknown asset kind", "known kinds: crane (also lifts)",
                                                        "entry points in group simengine.asset_kinds"]),
    ({"fleet.duty.kind": "my_kinds:Pumpp"}, "fleet.duty.kind", ["failed to import", "AttributeError", "Pumpp"]),
    ({"fleet.duty.kind": "narrow_kinds:Thermometer"}, "fleet.sensors[0].observes",
     ["asset kind thermometer has no quantity natural_frequency_hz; its quantities: temperature_C, load_factor"]),
    ({"fleet.duty.kind": "narrow_kinds:Shapeless"}, "fleet.duty.kind",
     ["its settings_type must be a dataclass", "or None, not <class 'dict'>"]),
    ({"fleet.duty.stress_MPa": -1.0}, "fleet.duty.stress_MPa", ["must be > 0"]),
    ({"fleet.duty.kind": "wind", "fleet.kind": "wind_turbine"}, "fleet.duty.running_fraction",
     ["unknown field for asset kind wind; known fields: kind, mean_wind_m_s"]),
    ({"fleet.duty.kind": "none", **dict.fromkeys(f"fleet.duty.{name}" for name in PUMP)}, "fleet.duty.kind",
     ["physics failures and sensors need a duty", "kinds with one: conveyor, crane, wind"]),
    ({"crews.max_wave_height_m": 1.5}, "crews.max_wave_height_m", ["sea state (wind)", "pump does not"]),
])
def test_a_wrong_kind_is_one_problem_naming_the_field(overrides, field, words):
    data = {k: v for k, v in PUMPS.items() if k != "fleet.sensors"}  # the crane's sensors: all of the catalogue
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None or k == "fleet.duty"}  # None: the key left out
    with pytest.raises(ConfigError) as err:
        load_scenario("crane_fleet", data)
    problems = [p for p in err.value.problems if p.field == field]
    assert len(problems) == 1, err.value
    assert all(w in problems[0].rule for w in words), problems[0]


def test_a_plugins_settings_default_and_build_like_any_schema():
    defaults = {k: v for k, v in PUMPS.items() if k.removeprefix("fleet.duty.") not in PUMP}
    scenario = load_scenario("crane_fleet", defaults)
    kind = kind_of(scenario.fleet)
    assert kind.settings(scenario.fleet.duty) == scenario.fleet.duty.settings == kind.settings_type()
    crane = build(ScenarioConfig, {"fleet": {"duty": {"kind": "lifts"}}}).fleet.duty
    assert crane.settings == resolve("crane").settings_type()


def test_the_calibration_asks_the_kind_what_it_can_fit():
    from simengine.calibration.baseline import kind_problems
    from simengine.calibration.heating import steady_load_s

    crane, wind = load_scenario("crane_fleet"), load_scenario("wind_farm")
    assert kind_problems(crane, ("thermal_tau_s", "hoist_heat_W")) == []
    [problem] = kind_problems(wind, ("thermal_tau_s",))
    assert problem.field == "fleet.duty.kind" and "asset kind wind declares nothing the calibration can fit" in problem.rule
    assert "kinds that do: conveyor, crane" in problem.rule
    assert steady_load_s(crane.fleet) == pytest.approx(3600.0 / 30.0 / 2.0) and steady_load_s(wind.fleet) == np.inf
