"""simengine optimize against the age-replacement closed form, its determinism, and its refusals."""

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import optimize as sciopt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from test_replacement import ASSETS, C_F, C_P, MEAN_H, QUICK, SHAPE, YEARS, age_cost_rate  # noqa: E402

from simengine.cli import compose  # noqa: E402
from simengine.config import ConfigError, build  # noqa: E402
from simengine.config.optimize import OptimizeSettings  # noqa: E402
from simengine.config.scenario import ScenarioConfig  # noqa: E402
from simengine.units import HOURS_PER_YEAR  # noqa: E402
from simengine.optimize.command import optimize, run_command  # noqa: E402
from simengine.optimize.compare import BEST, SAME  # noqa: E402


def renewal_overrides(out_dir) -> list[str]:
    """The crane scenario of conf/optimize.yaml turned into the classic age-replacement model by overrides."""
    bearing = (f"{{name: bearing, life: {{kind: weibull, mean: {MEAN_H}, shape: {SHAPE}}}, "
               f"repair: {{work: {{kind: fixed, mean: {QUICK['mean']}}}}}, failure_cost_eur: {C_F}}}")
    return [
        "name=renewal", f"horizon_years={YEARS}", f"fleet.count={ASSETS}", "fleet.kind=machine", "fleet.duty={kind: none}",
        "fleet.physics_failures=[]", "fleet.sensors=[]", f"fleet.components=[{bearing}]", "spares={}",
        f"crews.count={ASSETS}", "crews.shifts=[[0,24]]", "crews.travel_h=0", "crews.hourly_cost_eur=0",
        "costs.downtime_eur_per_h=0", "policy.kind=corrective", "policy.replacement.components=[]",
        f"policy.replacement.cost_eur={C_P}", f"policy.replacement.work={{kind: fixed, mean: {QUICK['mean']}}}",
        "outputs.record_assets=0",
        "variables={policy.replacement.interval_h: {low: 150, high: 1500}}", "constraints=[]",
        "trials=16", "batch=4", "replicas=6", "seed=0", f"out_dir={out_dir}", "progress=false",
    ]


def test_optimize_finds_the_closed_form_optimum_within_the_noise(tmp_path, capsys):
    assert run_command(compose("optimize", renewal_overrides(tmp_path / "out"), "scenario")) == 0
    (folder,) = (tmp_path / "out").iterdir()
    assert folder.name.startswith("optimize-") and {p.name for p in folder.iterdir()} == \
        {"optimize.h5", "report.md", "tradeoff.png"}
    per_hour = ASSETS * YEARS * HOURS_PER_YEAR  # total cost of a replica -> cost per asset-hour
    with h5py.File(folder / "optimize.h5") as f:
        best_T = float(f["best"].attrs["policy.replacement.interval_h"])
        ci = (f["best"].attrs["ci95_low"] / per_hour, f["best"].attrs["ci95_high"] / per_hour)
        settings = f["settings/setting/policy.replacement.interval_h"][()]
        verdicts = f["settings/verdict"].asstr()[()]
        assert f["trials/number"].size == 16 and f["trials/objective"].shape == (16, 6)
    closed = sciopt.minimize_scalar(age_cost_rate, bounds=(150.0, 1500.0), method="bounded")
    noise = (ci[1] - ci[0]) / 2.0
    # Found: a T whose closed-form cost is within the noise of the optimum's (the curve is flat there:
    # C(T*) = 0.003527 at T* = 428 h; 1 % above it spans about 365-500 h)
    assert age_cost_rate(best_T) - closed.fun <= noise
    assert ci[0] - noise <= closed.fun <= ci[1] + noise  # and the engine's rate there agrees with theory
    # The evaluated setting that theory ranks first is the best or indistinguishable from it
    truly_best = int(np.argmin([age_cost_rate(T) for T in settings]))
    assert verdicts[truly_best] in (BEST, SAME)
    out = capsys.readouterr().out
    assert "best: policy.replacement.interval_h=" in out and "results: " in out
    assert "indistinguishable" in (folder / "report.md").read_text() or "worse" in out


def small_settings(**extra) -> OptimizeSettings:
    return build(OptimizeSettings, {
        "variables": {"policy.replacement.interval_h": {"low": 200, "high": 2000},
                      "crews.count": {"low": 1, "high": 3}},
        "constraints": ["availability>=0.5"], "trials": 6, "batch": 3, "replicas": 3, "seed": 11, **extra})


def small_scenario() -> ScenarioConfig:
    return build(ScenarioConfig, {
        "name": "small", "horizon_years": 1.0,
        "fleet": {"kind": "machine", "count": 3, "duty": {"kind": "none"},
                  "components": [{"name": "bearing", "life": {"kind": "weibull", "mean": 800.0, "shape": 2.5},
                                  "repair": {"work": {"kind": "lognormal", "mean": 10.0, "cv": 0.5}},
                                  "failure_cost_eur": 5000.0}]},
        "crews": {"count": 1, "shifts": [[0, 24]], "travel_h": 0.0},
        "costs": {"downtime_eur_per_h": 100.0},
        "policy": {"kind": "corrective", "replacement": {"kind": "age", "cost_eur": 500.0}},
        "outputs": {"record_assets": 0},
    })


def test_the_same_seed_gives_the_same_study_whatever_the_chunking():
    a = optimize(small_scenario(), small_settings())
    b = optimize(small_scenario(), small_settings(chunk=1))
    assert [t.setting for t in a.trials] == [t.setting for t in b.trials]
    assert all(isinstance(t.setting["crews.count"], int) for t in a.trials)
    for ta, tb in zip(a.trials, b.trials):
        np.testing.assert_array_equal(ta.kpis["total_cost_eur"], tb.kpis["total_cost_eur"])
    c = optimize(small_scenario(), small_settings(seed=12))
    assert [t.setting for t in c.trials] != [t.setting for t in a.trials]


def test_bad_input_is_one_message_and_nothing_is_written(tmp_path):
    out = tmp_path / "never"
    plain = compose("optimize", [
        "variables={fleet.cuont: {low: 1, high: 3}, crews.count: {low: 4, high: 2}}",
        "objective=total_cost", "constraints=['availability=>0.98']", f"out_dir={out}"], "scenario")
    with pytest.raises(ConfigError) as err:
        run_command(plain)
    problems = {p.field: p for p in err.value.problems}
    assert problems["variables.crews.count.low"].rule == "must be < high (2.0)"
    assert "did you mean 'total_cost_eur'" in problems["objective"].rule
    assert problems["constraints[0]"].value == "availability=>0.98"
    assert "not in the scenario" in problems["variables.fleet.cuont"].rule
    assert not out.exists()


def test_a_range_the_scenario_refuses_is_refused_before_any_trial(tmp_path):
    plain = compose("optimize", ["variables={policy.inspection.interval_h: {low: 2, high: 8760}}",
                                 f"out_dir={tmp_path / 'x'}"], "scenario")
    with pytest.raises(ConfigError) as err:
        run_command(plain)
    (problem,) = err.value.problems
    assert problem.field == "variables.policy.inspection.interval_h.low" and problem.value == 2
    assert "must be shorter than interval_h" in problem.rule
    plain = compose("optimize", ["variables={crews.count: {low: 1.5, high: 4}}", f"out_dir={tmp_path / 'x'}"],
                    "scenario")
    with pytest.raises(ConfigError, match=r"variables.crews.count.low = 1.5: must be an integer"):
        run_command(plain)
    assert not (tmp_path / "x").exists()
