"""Tagged unions in the configuration: a tag and, beside it, the settings of the variant it names.

First with schemas of the test's own (the feature knows nothing of asset kinds), then the duty of a fleet
and of a plant's group, whose variants are asset kinds, a plugin's too, and the command line's spelling.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from simengine.config import ConfigError, Problem, build, describe, spec, to_dict
from simengine.config.validate import tagged

KINDS = Path(__file__).resolve().parents[1] / "kinds"  # my_kinds.py: the README's pump


@dataclass(frozen=True)
class Circle:
    radius_m: float = spec(1.0, gt=0.0)


@dataclass(frozen=True)
class Box:
    width_m: float = spec(1.0, gt=0.0)
    height_m: float = spec(2.0, gt=0.0)

    def check(self):
        return [("height_m", self.height_m, "must not be below width_m")] if self.height_m < self.width_m else []


SHAPES = {"circle": Circle, "box": Box, "point": None}


def shape_schema(kind: str) -> type | None:
    if kind not in SHAPES:  # its own path: the builder reports it at the tag's
        raise ConfigError([Problem("somewhere.else", kind, "no such shape")])
    return SHAPES[kind]


@dataclass(frozen=True)
class Shape:
    kind: str = spec("circle")
    settings: Any = tagged("kind", shape_schema, former=("circle", "box"), doc="the shape's own")


@dataclass(frozen=True)
class Drawing:
    shapes: dict[str, Shape] = spec(default_factory=dict)
    frame: Shape = spec(default_factory=lambda: Shape("box", Box()))


def problems(data: dict) -> list[tuple[str, object, str]]:
    with pytest.raises(ConfigError) as err:
        build(Drawing, data)
    return [(p.field, p.value, p.rule) for p in err.value.problems]


def test_the_tag_picks_the_variant_and_the_keys_beside_it_build_it():
    d = build(Drawing, {"shapes": {"a": {"kind": "box", "width_m": 1.5}, "b": {"kind": "point"}, "c": {}},
                        "frame": {"kind": "circle", "radius_m": 0.5}})
    assert d.shapes["a"] == Shape("box", Box(1.5, 2.0)) and d.shapes["b"].settings is None
    assert d.shapes["c"] == Shape("circle", Circle())  # the tag's default picks the variant
    assert d.frame.settings == Circle(0.5)
    assert to_dict(d) == {"shapes": {"a": {"kind": "box", "width_m": 1.5, "height_m": 2.0}, "b": {"kind": "point"},
                                     "c": {"kind": "circle", "radius_m": 1.0}},
                          "frame": {"kind": "circle", "radius_m": 0.5}}  # flat again, and it builds the same
    assert build(Drawing, to_dict(d)) == d


def test_a_variants_problems_name_the_mapping_of_the_tag():
    assert problems({"shapes": {"a": {"kind": "box", "width_m": -1, "hieght_m": 1}, "b": {"kind": "box", "width_m": 3}},
                     "frame": {"kind": "point", "radius_m": 1}}) == [
        ("shapes.a.width_m", -1, "must be > 0.0"),
        ("shapes.a.hieght_m", 1, "unknown field for kind box; known fields: kind, width_m, height_m; "
                                 "did you mean 'height_m'?"),
        ("shapes.b.height_m", 2.0, "must not be below width_m"),  # the variant's own check
        ("frame.radius_m", 1, "unknown field for kind point; known fields: kind"),
    ]


def test_a_tag_that_names_nothing_is_one_problem_at_the_tag():
    # the resolver's problem, moved to where the tag is written; the keys beside it are not judged
    assert problems({"frame": {"kind": "hexagon", "side_m": 2}}) == [("frame.kind", "hexagon", "no such shape")]
    assert problems({"frame": {"kind": 7, "side_m": 2}}) == [("frame.kind", 7, "expected a string")]


def test_a_former_section_says_where_its_settings_go_now():
    assert problems({"frame": {"kind": "box", "box": {"width_m": 2}}}) == [
        ("frame.box", {"width_m": 2}, "the settings of kind box sit beside kind now: frame.width_m")]
    assert problems({"frame": {"kind": "point", "circle": {}}}) == [
        ("frame.circle", {}, "kind point takes no settings: only frame.kind")]


def test_describe_and_construction_in_code():
    assert "frame: Shape\n  kind: str = 'circle'\n  <the settings of its kind, beside kind>  # the shape's own" \
        in describe(Drawing)
    assert Shape("box", Box()).settings == Box()


# --- the duty: asset kinds as variants ------------------------------------------------------

def scenario(data: dict):
    from simengine.config.scenario import ScenarioConfig

    return build(ScenarioConfig, data)


def scenario_problems(data: dict) -> list[tuple[str, object, str]]:
    with pytest.raises(ConfigError) as err:
        scenario(data)
    return [(p.field, p.value, p.rule) for p in err.value.problems]


def test_the_duty_is_the_kind_and_its_settings_beside_it(monkeypatch):
    monkeypatch.syspath_prepend(str(KINDS))
    from simengine.kinds.crane import LiftDutyConfig
    from simengine.kinds.wind import WindDutyConfig

    wind = scenario({"fleet": {"duty": {"kind": "wind", "mean_wind_m_s": 8}}}).fleet.duty
    assert wind.kind == "wind" and wind.settings == WindDutyConfig(mean_wind_m_s=8.0)
    assert scenario({}).fleet.duty.settings == LiftDutyConfig()  # the default kind, lifts, and its defaults
    assert scenario({"fleet": {"duty": {"kind": "none"}}}).fleet.duty.settings is None
    pump = scenario({"fleet": {"duty": {"kind": "my_kinds:Pump", "stress_MPa": 20}}}).fleet.duty
    assert type(pump.settings).__name__ == "PumpDuty" and pump.settings.stress_MPa == 20.0  # a plugin's own type
    with pytest.raises(ValueError, match="asset kind wind takes settings WindDutyConfig, not LiftDutyConfig"):
        replace(scenario({}).fleet.duty, kind="wind")


def test_the_duty_s_problems_name_its_own_path_in_a_fleet_and_in_a_plant():
    assert scenario_problems({"fleet": {"duty": {"kind": "wind", "mean_wind_m_s": -1, "mean_wnd_m_s": 8}}}) == [
        ("fleet.duty.mean_wind_m_s", -1, "must be > 0.0"),
        ("fleet.duty.mean_wnd_m_s", 8, "unknown field for asset kind wind; known fields: kind, mean_wind_m_s, "
                                       "weibull_k, hourly_autocorrelation, cut_in_m_s, rated_m_s, cut_out_m_s, "
                                       "rated_power_W, gearbox_loss_fraction, rotor_cycles_per_h, blade_stress_MPa, "
                                       "turbine_scatter_cv, mean_wave_height_m, wave_cv, ambient_mean_C, "
                                       "ambient_amplitude_C; did you mean 'mean_wind_m_s'?")]
    plant = {"groups": {"turbines": {"duty": {"kind": "wind", "mean_wind_m_s": 0}},
                        "cable": {"capacity": 0, "duty": {"kind": "nonne"}}}}
    found = scenario_problems(plant)
    assert [f for f, _, _ in found] == ["groups.turbines.duty.mean_wind_m_s", "groups.cable.duty.kind"], found
    assert "unknown asset kind; known kinds: crane (also lifts); wind; none" in found[1][2]


@pytest.mark.parametrize("duty, field, rule", [
    ({"kind": "lifts", "lifts": {"lifts_per_h": 20, "traffic_cv": 0.2}}, "fleet.duty.lifts",
     "the settings of asset kind crane sit beside kind now: fleet.duty.lifts_per_h, fleet.duty.traffic_cv"),
    ({"kind": "wind", "wind": {"mean_wind_m_s": 9}}, "fleet.duty.wind",
     "the settings of asset kind wind sit beside kind now: fleet.duty.mean_wind_m_s"),
    ({"kind": "conveyor", "settings": {"mean_fill": 0.5}}, "fleet.duty.settings",
     "the settings of asset kind conveyor sit beside kind now: fleet.duty.mean_fill"),
    ({"kind": "none", "settings": {}}, "fleet.duty.settings",
     "asset kind none takes no settings: only fleet.duty.kind"),
])
def test_the_former_nested_duty_is_one_message_saying_where_it_goes(duty, field, rule):
    assert scenario_problems({"fleet": {"duty": duty}}) == [(field, duty[field.rsplit(".", 1)[1]], rule)]


@pytest.mark.parametrize("hydra", [False, True])
def test_the_command_line_spells_a_setting_beside_the_kind(hydra, monkeypatch):
    import simengine.cli as cli

    monkeypatch.syspath_prepend(str(KINDS))
    if hydra:  # the fallback for a tree of another shape composes the same
        monkeypatch.setattr(cli, "compose_tree", lambda *args: None)
    built, _, _ = cli.compose_config(["scenario=wind_farm", "fleet.duty.mean_wind_m_s=8"])
    assert built.fleet.duty.settings.mean_wind_m_s == 8.0 and built.fleet.duty.settings.weibull_k == 2.0
    pump, _, _ = cli.compose_config(["fleet.kind=pump", "fleet.duty={kind: 'my_kinds:Pump', running_fraction: 0.4}"])
    assert pump.fleet.duty.settings.running_fraction == 0.4  # the crane's duty replaced whole, the pump's defaults
    with pytest.raises(ConfigError) as err:
        cli.compose_config(["fleet.duty.lifts.lifts_per_h=20"])
    assert [str(p) for p in err.value.problems] == [
        "fleet.duty.lifts = {'lifts_per_h': 20}: the settings of asset kind crane sit beside kind now: "
        "fleet.duty.lifts_per_h"]
