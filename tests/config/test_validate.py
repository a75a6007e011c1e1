from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from simengine.config import MISSING, ConfigError, Problem, build, describe, spec, to_dict

NAN = float("nan")


@dataclass(frozen=True)
class Crew:
    count: int = spec(3, ge=0, doc="number of crews")
    travel_h: float = spec(0.5, ge=0.0, doc="travel time to an asset, hours")
    shifts: tuple[tuple[float, float], ...] = spec(default_factory=lambda: ((0.0, 24.0),))
    kind: str = spec("exponential", choices=("exponential", "lognormal", "fixed"))

    def check(self):
        return [(f"shifts[{i}]", s, "start must be before end")
                for i, s in enumerate(self.shifts) if not s[0] < s[1]]


@dataclass(frozen=True)
class Sensor:
    name: str
    noise_sd: float = spec(0.0, ge=0.0)
    bias: Optional[float] = None


@dataclass(frozen=True)
class Duty:
    rate_per_h: float = spec(gt=0.0, doc="duty cycles per hour")
    load_probs: tuple[float, ...] = spec(default_factory=lambda: (1.0,), ge=0.0, le=1.0)

    def check(self):
        total = sum(self.load_probs)
        return [] if math.isclose(total, 1.0) else [("load_probs", self.load_probs, "must sum to 1")]


@dataclass(frozen=True)
class Asset:
    name: str
    duty: Duty
    sensors: tuple[Sensor, ...] = ()
    mode: Literal["run", "idle"] = "run"
    tags: dict[str, float] = spec(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Plant:
    scenario: str = spec(choices=("crane_fleet", "wind_farm"))
    crews: Crew
    assets: list[Asset] = spec(default_factory=list)
    seed: int | None = None
    record: bool = True


@dataclass(frozen=True)
class Window:
    start_h: float
    end_h: float

    def __post_init__(self):
        if not self.start_h < self.end_h:
            raise ValueError(f"start_h {self.start_h} must be before end_h {self.end_h}")


ASSET = {"name": "crane-07", "duty": {"rate_per_h": 2.0}}
BASE = {"scenario": "crane_fleet", "assets": [ASSET]}


def merged(base: dict, patch: dict) -> dict:
    out = dict(base)
    for key, value in patch.items():
        both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both_dicts else value
    return out


def asset(**patch) -> dict:
    return {"assets": [merged(ASSET, patch)]}


BAD = [
    ({"crews": {"count": -1}}, "crews.count", -1, "must be >= 0"),
    ({"crews": {"count": True}}, "crews.count", True, "expected an integer"),
    ({"crews": {"count": 2.5}}, "crews.count", 2.5, "expected an integer"),
    ({"crews": {"count": "3"}}, "crews.count", "3", "expected an integer"),
    ({"crews": {"travel_h": "abc"}}, "crews.travel_h", "abc", "expected a number"),
    ({"crews": {"travel_h": False}}, "crews.travel_h", False, "expected a number"),
    ({"crews": {"travel_h": NAN}}, "crews.travel_h", NAN, "must not be NaN"),
    ({"crews": {"kind": "lognormall"}}, "crews.kind", "lognormall", "did you mean 'lognormal'?"),
    ({"crews": {"shifts": "0-24"}}, "crews.shifts", "0-24", "expected a list"),
    ({"crews": {"shifts": [[0, 8, 16]]}}, "crews.shifts[0]", [0, 8, 16], "expected a list of 2 items"),
    ({"crews": {"shifts": [[8.0, 4.0]]}}, "crews.shifts[0]", (8.0, 4.0), "start must be before end"),
    ({"crews": None}, "crews", None, "expected a mapping"),
    ({"scenario": "mars"}, "scenario", "mars", "must be one of crane_fleet, wind_farm"),
    ({"scenario": 7}, "scenario", 7, "expected a string"),
    ({"seed": "x"}, "seed", "x", "expected an integer"),
    ({"record": 1}, "record", 1, "expected true or false"),
    ({"assets": ASSET}, "assets", ASSET, "expected a list"),
    ({"assets": ["crane"]}, "assets[0]", "crane", "expected a mapping"),
    ({"assets": [{"duty": {"rate_per_h": 1.0}}]}, "assets[0].name", MISSING, "required field is missing"),
    ({"assets": [{"name": "c"}]}, "assets[0].duty.rate_per_h", MISSING, "required field is missing"),
    (asset(duty={"rate_per_h": "abc"}), "assets[0].duty.rate_per_h", "abc", "expected a number"),
    (asset(duty={"rate_per_h": 0}), "assets[0].duty.rate_per_h", 0, "must be > 0.0"),
    (asset(duty={"load_probs": [1.5]}), "assets[0].duty.load_probs[0]", 1.5, "must be <= 1.0"),
    (asset(duty={"load_probs": [0.5, 0.4]}), "assets[0].duty.load_probs", (0.5, 0.4), "must sum to 1"),
    (asset(sensors=[{"name": "s"}, {"name": "t", "noise_sd": -1}]),
     "assets[0].sensors[1].noise_sd", -1, "must be >= 0.0"),
    (asset(sensors=[{"name": "s", "bias": "high"}]), "assets[0].sensors[0].bias", "high", "expected a number"),
    (asset(mode="off"), "assets[0].mode", "off", "must be one of run, idle"),
    (asset(mode=None), "assets[0].mode", None, "must be one of run, idle"),
    (asset(tags={"site": "north"}), "assets[0].tags.site", "north", "expected a number"),
    (asset(tags={3: 1.0}), "assets[0].tags.3", 3, "key must be a string"),
    (asset(tags=[1.0]), "assets[0].tags", [1.0], "expected a mapping"),
]


@pytest.mark.parametrize(("patch", "field", "value", "rule"), BAD)
def test_bad_input_is_one_exact_problem(patch, field, value, rule):
    with pytest.raises(ConfigError) as info:
        build(Plant, merged(BASE, patch))
    [problem] = info.value.problems
    assert problem.field == field
    assert problem.value is value or problem.value == value
    assert rule in problem.rule


def test_every_problem_is_listed_in_document_order():
    data = {"crews": {"count": -1}, "assets": [merged(ASSET, {"duty": {"rate_per_h": "abc"}})],
            "scenario": "mars"}
    with pytest.raises(ConfigError) as info:
        build(Plant, data)
    assert str(info.value) == (
        "3 problems in the configuration:\n"
        "  - crews.count = -1: must be >= 0\n"
        "  - assets[0].duty.rate_per_h = 'abc': expected a number\n"
        "  - scenario = 'mars': must be one of crane_fleet, wind_farm"
    )
    assert isinstance(info.value, ValueError)


def test_missing_fields_are_reported_with_full_paths_alongside_others():
    with pytest.raises(ConfigError) as info:
        build(Plant, {"crews": {"count": -2}, "assets": [{}]})
    assert info.value.problems == [
        Problem("crews.count", -2, "must be >= 0"),
        Problem("assets[0].name", MISSING, "required field is missing"),
        Problem("assets[0].duty.rate_per_h", MISSING, "required field is missing"),
        Problem("scenario", MISSING, "required field is missing"),
    ]
    assert "assets[0].name = <missing>: required field is missing" in str(info.value)


@pytest.mark.parametrize(("key", "suggestion"), [("cuont", "did you mean 'count'?"), ("zzz", None)])
def test_unknown_key_lists_known_fields_and_suggests_the_closest(key, suggestion):
    with pytest.raises(ConfigError) as info:
        build(Crew, {key: 3}, path="crews")
    [problem] = info.value.problems
    assert (problem.field, problem.value) == (f"crews.{key}", 3)
    assert problem.rule.startswith("unknown field; known fields: count, travel_h, shifts, kind")
    assert (suggestion in problem.rule) if suggestion else ("did you mean" not in problem.rule)


def test_absent_nested_sections_take_their_defaults():
    plant = build(Plant, {"scenario": "wind_farm"})
    assert plant == Plant(scenario="wind_farm", crews=Crew())
    assert plant.crews.shifts == ((0.0, 24.0),)


@pytest.mark.parametrize(("raw", "expected"), [(3, 3), (3.0, 3), (0, 0)])
def test_int_accepts_integral_numbers_only(raw, expected):
    count = build(Crew, {"count": raw}).count
    assert count == expected and type(count) is int


def test_float_accepts_ints_and_infinity_and_nan_only_when_allowed():
    assert type(build(Crew, {"travel_h": 1}).travel_h) is float
    assert build(Crew, {"travel_h": math.inf}).travel_h == math.inf

    @dataclass(frozen=True)
    class Reading:
        value: float = spec(0.0, ge=0.0, allow_nan=True)

    assert math.isnan(build(Reading, {"value": NAN}).value)


@pytest.mark.parametrize("seed", [None, 7])
def test_optional_accepts_none_and_the_inner_type(seed):
    assert build(Plant, merged(BASE, {"seed": seed})).seed == seed
    assert build(Plant, BASE).seed is None


def test_literal_and_choices_accept_listed_values():
    plant = build(Plant, merged(BASE, asset(mode="idle")) | {"crews": {"kind": "fixed"}})
    assert plant.assets[0].mode == "idle" and plant.crews.kind == "fixed"


def test_sequences_become_the_annotated_containers_and_stay_hashable():
    plant = build(Plant, merged(BASE, {"crews": {"shifts": [[0, 8], (8, 16.5)]}}))
    assert plant.crews.shifts == ((0.0, 8.0), (8.0, 16.5))
    assert type(plant.crews.shifts[0][0]) is float
    assert isinstance(plant.assets, list)
    assert hash(plant.crews) == hash(Crew(shifts=((0.0, 8.0), (8.0, 16.5))))


def test_check_hook_waits_until_the_fields_are_valid():
    with pytest.raises(ConfigError) as info:
        build(Crew, {"count": -1, "shifts": [[8, 4]]})
    assert [p.field for p in info.value.problems] == ["count"]


def test_post_init_errors_become_problems():
    with pytest.raises(ConfigError) as info:
        build(Window, {"start_h": 5, "end_h": 1}, path="window")
    [problem] = info.value.problems
    assert problem.field == "window" and "must be before end_h" in problem.rule


def test_a_root_that_is_not_a_mapping_is_a_problem():
    with pytest.raises(ConfigError, match=r"<root> = \[1\]: expected a mapping"):
        build(Crew, [1])


@pytest.mark.parametrize("annotation", ["int | str", "dict[int, float]", "object"])
def test_unsupported_annotations_are_programming_errors(annotation):
    namespace: dict = {}
    exec(f"from dataclasses import dataclass\n@dataclass\nclass Odd:\n    x: {annotation}", namespace)
    with pytest.raises(TypeError, match="x"):
        build(namespace["Odd"], {"x": 1})


def test_round_trip_through_plain_data():
    data = merged(BASE, {"seed": 11, "crews": {"shifts": [[6, 18]]}}
                  | asset(sensors=[{"name": "vib", "noise_sd": 0.1, "bias": None}], tags={"row": 2}))
    plant = build(Plant, data)
    plain = to_dict(plant)
    assert plain["crews"]["shifts"] == [[6.0, 18.0]]
    assert json.loads(json.dumps(plain)) == plain
    assert build(Plant, plain) == plant


def test_describe_lists_type_default_constraints_and_doc():
    text = describe(Plant)
    assert "scenario: str (required)  (one of crane_fleet, wind_farm)" in text
    assert "\ncrews: Crew\n  count: int = 3  (>= 0)  # number of crews" in text
    assert "  shifts: tuple[tuple[float, float], ...] = ((0.0, 24.0),)" in text
    assert "\n  duty: Duty\n    rate_per_h: float (required)  (> 0.0)  # duty cycles per hour" in text
    assert "  mode: one of 'run', 'idle' = 'run'" in text
    assert "seed: int | None = None" in text


# --- the scenario schema's physical bounds --------------------------------------

SCENARIO_BAD = [
    ("wind_farm", {"fleet.kind": "sts_crane"}, "fleet.kind", "sts_crane", "a sts_crane needs fleet.duty.kind=lifts, not wind"),
    ("crane_fleet", {"fleet.kind": "wind_turbine"}, "fleet.kind", "wind_turbine", "needs fleet.duty.kind=wind, not lifts"),
    ("crane_fleet", {"fleet.physics_failures.0.limit": 0.05}, "fleet.physics_failures[0].limit", 0.05,
     "must be less than fleet.crack.section_depth_m (0.04 m)"),
    ("crane_fleet", {"fleet.physics_failures.0.limit": 1e-4}, "fleet.physics_failures[0].limit", 1e-4,
     "must exceed the median initial flaw"),
    ("crane_fleet", {"fleet.crack.section_depth_m": 2e-4, "fleet.physics_failures": []}, "fleet.crack.initial_flaw_m.median", 3e-4,
     "must be less than fleet.crack.section_depth_m"),
    ("crane_fleet", {"fleet.thermal.initial_C": -300.0}, "fleet.thermal.initial_C", -300.0, "must be >= -273.15"),
    ("crane_fleet", {"fleet.wear.reference_C": -274}, "fleet.wear.reference_C", -274, "must be >= -273.15"),
    ("crane_fleet", {"fleet.duty.ambient_amplitude_C": 300.0}, "fleet.duty.ambient_amplitude_C", 300.0,
     "below absolute zero"),
    ("wind_farm", {"fleet.duty.ambient_mean_C": -280.0}, "fleet.duty.ambient_mean_C", -280.0, "must be >= -273.15"),
    ("crane_fleet", {"fleet.duty.load_classes_t": [18, 26, 34, 80]}, "fleet.duty.load_classes_t",
     [18.0, 26.0, 34.0, 80.0], "must not exceed rated_load_t (65.0 t)"),
    ("crane_fleet", {"policy.inspection.duration_h": 5000.0}, "policy.inspection.duration_h", 5000.0,
     "must be shorter than interval_h"),
    ("crane_fleet", {"fleet.thermal.tau_s": 0}, "fleet.thermal.tau_s", 0, "must be > 0.0"),
    ("crane_fleet", {"fleet.sensors.0.dropout": 1.0}, "fleet.sensors[0].dropout", 1.0, "must be < 1.0"),
    ("crane_fleet", {"fleet.duty.load_probs": [0.5, 0.5, 0.5, -0.5]}, "fleet.duty.load_probs[3]", -0.5,
     "must be >= 0.0"),
]


@pytest.mark.parametrize(("scenario", "overrides", "field", "value", "rule"), SCENARIO_BAD)
def test_physically_impossible_scenario_is_one_exact_problem(scenario, overrides, field, value, rule):
    from simengine.api import load_scenario

    with pytest.raises(ConfigError) as info:
        load_scenario(scenario, overrides)
    [problem] = info.value.problems
    assert (problem.field, problem.value) == (field, value)
    assert rule in problem.rule


@pytest.mark.parametrize("scenario", ["crane_fleet", "wind_farm"])
def test_shipped_scenarios_pass_the_physical_bounds(scenario):
    from simengine.api import load_scenario

    assert load_scenario(scenario).name == scenario
