"""The belt conveyor kind: its bearings against ISO 281 worked by hand, its shifts by the calendar, its failures
through the engine, and its ready scenario through `simengine run`."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simengine.api import load_scenario
from simengine.config import ConfigError
from simengine.engine.simulation import Replica, replica_streams
from simengine.kinds import kind_of, resolve
from simengine.kinds.conveyor import CONVEYOR, ConveyorDutyConfig
from simengine.kinds.conveyor_duty import ConveyorDuty
from simengine.results.store import read_run

SIMENGINE = Path(sys.executable).with_name("simengine")
# a steady feed round the clock: every hour loads the bearings alike
STEADY = {"shifts": [[0, 24]], "running_days_per_week": 7, "mean_fill": 0.5, "fill_cv": 0.0,
          "conveyor_scatter_cv": 0.0}
C_KN, P_EMPTY_KN, P_FULL_KN = 380.0, 50.0, 70.0  # the defaults of ConveyorDutyConfig
REV_PER_H = 3600.0 * 4.0 / (math.pi * 1.0)  # 4 m/s over a 1 m pulley


def duty(n_assets=4, horizon_h=24.0 * 7 * 4, seed=0, **settings) -> ConveyorDuty:
    return ConveyorDuty(ConveyorDutyConfig(**settings), n_assets, horizon_h, np.random.default_rng(seed))


def iso_281_survival(life_in_l10, bearings=1):
    """ISO 281:2007's reliability factor inverted: P(a bearing outlives `life_in_l10` L10), for the shortest
    of `bearings` bearings (a1 = 0.95 (ln R / ln 0.9)^(2/3) + 0.05, a1 = 0.05 at R -> 1... 0)."""
    x = np.maximum((np.asarray(life_in_l10) - 0.05) / 0.95, 0.0)
    return 0.9 ** (x**1.5 * bearings)


def test_a_steady_load_consumes_the_bearing_at_its_iso_281_basic_rating_life():
    d = duty(**STEADY, life_modification=0.5)
    load_kN = P_EMPTY_KN + (P_FULL_KN - P_EMPTY_KN) * 0.5
    l10_h = (C_KN / load_kN) ** (10.0 / 3.0) * 1.0e6 / REV_PER_H  # ISO 281: (C/P)^p 10^6 revolutions
    inputs = d.inputs(0.0, 100, 1.0)
    per_l10 = np.asarray(inputs.miner_increment) * d.life_factor * 0.5  # undo the pulley's life and a_ISO
    np.testing.assert_allclose(per_l10, 1.0 / l10_h, rtol=1e-12)
    assert l10_h == pytest.approx(ConveyorDutyConfig().l10_h(load_kN), rel=1e-12)
    # the drive: empty power plus the material's share; its losses heat it in proportion (the calibration's model)
    np.testing.assert_allclose(inputs.load_factor, 0.35 + 0.65 * 0.5)
    np.testing.assert_allclose(inputs.heat_W, CONVEYOR.heat_at_rated_load_W(d.cfg) * np.asarray(inputs.load_factor))
    assert not np.asarray(inputs.paris_driver).any()


def test_a_varying_load_consumes_the_bearing_at_iso_281s_mean_equivalent_load():
    d = duty(n_assets=3, horizon_h=2000.0, seed=4, fill_cv=0.4, conveyor_scatter_cv=0.1, max_fill=0.9)
    inputs = d.inputs(0.0, 2000, 1.0)
    running = np.asarray(inputs.load_factor) > 0
    fill = (np.asarray(inputs.load_factor) - 0.35) / 0.65
    load_kN = np.where(running, P_EMPTY_KN + (P_FULL_KN - P_EMPTY_KN) * fill, 0.0)
    assert fill[running].max() == pytest.approx(0.9) and fill[running].std() > 0.1
    # P_m = (Σ n_i P_i^p / Σ n_i)^(1/p) over the revolutions, then the life of the whole history at P_m
    revs = REV_PER_H * running.sum(0)
    p_mean = (np.sum(REV_PER_H * running * load_kN ** (10.0 / 3.0), 0) / revs) ** 0.3
    consumed = np.sum(inputs.miner_increment, 0) * d.life_factor
    np.testing.assert_allclose(consumed, revs / ((C_KN / p_mean) ** (10.0 / 3.0) * 1.0e6), rtol=1e-10)


def test_the_pulleys_lives_reproduce_iso_281s_reliability_factors():
    one = duty(n_assets=200_000, horizon_h=1.0, bearings=1).life_factor
    # ISO 281:2007 table of a1: reliability 90 % -> 1, 95 % -> 0.64, 99 % -> 0.25 (the life 10, 5, 1 % fall short of)
    np.testing.assert_allclose(np.quantile(one, [0.10, 0.05, 0.01]), [1.0, 0.64, 0.25], atol=0.02)
    assert one.min() >= 0.05
    two = duty(n_assets=200_000, horizon_h=1.0, bearings=2).life_factor
    assert np.mean(two < 1.0) == pytest.approx(1.0 - 0.9**2, abs=0.005)  # either bearing of the pulley


def test_the_line_runs_its_shifts_on_its_running_days():
    d = duty(horizon_h=24.0 * 14, shifts=[[6, 14], [14, 22]], running_days_per_week=6)
    on = np.asarray(d.inputs(0.0, 24 * 14, 1.0).load_factor)[:, 0] > 0
    by_day = on.reshape(14, 24)
    shift_day = np.r_[np.zeros(6), np.ones(16), np.zeros(2)].astype(bool)
    for day in range(14):
        assert (by_day[day] == (shift_day if day % 7 < 6 else False)).all(), day


def test_bearing_failures_over_a_horizon_follow_the_miner_rule():
    """Positions whose Miner sum reaches 1 within a horizon, against ISO 281's life distribution at the
    consumption worked out by hand: 16 running hours a day, six days a week, one load."""
    n, weeks = 4000, 52
    d = duty(n_assets=n, horizon_h=24.0 * 7 * weeks, seed=7, fill_cv=0.0, conveyor_scatter_cv=0.0,
             mean_fill=0.8, life_modification=0.03)
    consumed = np.zeros(n)
    for week in range(weeks):
        consumed += np.asarray(d.inputs(week * 168.0, 168, 1.0).miner_increment).sum(0)
    running_h = 16 * 6 * weeks
    in_l10 = running_h / (0.03 * ConveyorDutyConfig().l10_h(P_EMPTY_KN + (P_FULL_KN - P_EMPTY_KN) * 0.8))
    expected = 1.0 - iso_281_survival(in_l10, bearings=2)
    assert 0.2 < expected < 0.8
    failed = int(np.sum(consumed >= 1.0))
    assert abs(failed - n * expected) < 4.0 * math.sqrt(n * expected * (1.0 - expected)), (failed, n * expected)


def test_the_engine_fails_a_pulley_when_its_bearing_life_is_spent():
    settings = {**STEADY, "shifts": [[6, 14], [14, 22]], "running_days_per_week": 6, "life_modification": 0.01}
    scenario = load_scenario("conveyor_line", {
        "fleet.count": 5, "horizon_years": 1.0, "policy.kind": "corrective", "fleet.components": [],
        "fleet.sensors": [], "outputs.record_assets": 0, "fleet.duty": settings,
        "fleet.physics_failures": [{"name": "pulley_bearing", "quantity": "damage", "limit": 1.0}]})
    result = Replica(scenario, seed=11).run()
    failures = result.events[result.events["kind"] == "failure"]
    # by hand: the hours the line runs, each spending 1 / (a_ISO L10 ξ) of the pulley's life, ξ the pulley's
    # drawn life (the duty's stream starts with the lives)
    life = ConveyorDuty(CONVEYOR.settings(scenario.fleet.duty), 5, 24.0, replica_streams(11, 0)["duty"]).life_factor
    per_h = 1.0 / (0.01 * ConveyorDutyConfig().l10_h(60.0) * life)
    hours = np.arange(24 * 366)
    running = (hours % 24 >= 6) & (hours % 24 < 22) & ((hours // 24) % 7 < 6)
    for asset in range(5):
        spent = np.cumsum(running * per_h[asset])
        k = int(np.searchsorted(spent, 1.0))  # the hour in which the sum passes 1
        first = failures[failures["asset"] == asset]
        if k >= 8766:
            assert first.size == 0
            continue
        at_h = k + (1.0 - (spent[k - 1] if k else 0.0)) / per_h[asset]
        assert first["time_h"].min() == pytest.approx(at_h, abs=1e-6), asset
    assert failures.size >= 2, "too few failures to compare"


def test_the_kind_is_a_builtin_and_checks_its_settings():
    assert resolve("conveyor") is CONVEYOR
    assert kind_of(load_scenario("conveyor_line").fleet) is CONVEYOR
    assert [c.quantity for c in CONVEYOR.plc_counters] == ["load_time_s"] and "thermal_tau_s" in CONVEYOR.fittable
    for overrides, field, words in [
        ({"fleet.duty.bearing_load_kN": [80, 70]}, "fleet.duty.bearing_load_kN",
         "needs the empty load <= the load at rated fill"),
        ({"fleet.duty.bearing_C_kN": 120}, "fleet.duty.bearing_load_kN",
         "P reaches C/2 (60.0 kN) at max_fill"),
        ({"fleet.sensors": [{"name": "f", "observes": "natural_frequency_hz"}]}, "fleet.sensors[0].observes",
         "asset kind conveyor has no quantity natural_frequency_hz"),
    ]:
        with pytest.raises(ConfigError) as err:
            load_scenario("conveyor_line", overrides)
        [problem] = err.value.problems
        assert problem.field == field and words in problem.rule, problem
    with pytest.raises(ConfigError) as err:  # the label names its kind
        load_scenario("wind_farm", {"fleet.kind": "belt_conveyor"})
    assert "a belt_conveyor needs fleet.duty.kind=conveyor, not wind" in str(err.value)


def test_checking_a_conveyor_scenario_imports_neither_numpy_nor_jax():
    code = ("import sys\nfrom simengine.api import load_scenario\nload_scenario('conveyor_line')\n"
            "print(sorted(m for m in ('numpy', 'jax', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_the_ready_scenario_runs_end_to_end(tmp_path):
    proc = subprocess.run([str(SIMENGINE), "run", "scenario=conveyor_line", "fleet.count=3", "horizon_years=0.5",
                           "replicas=2", "seed=2", "plots=false", f"out_dir={tmp_path}"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "conveyor_line, 3 belt_conveyor assets" in proc.stdout
    run = read_run(next(tmp_path.glob("conveyor_line-*/run.h5")))
    kpis = run.kpis
    availability = np.asarray(kpis["availability"])
    assert ((availability > 0.9) & (availability <= 1.0)).all()
    np.testing.assert_allclose(kpis["downtime_cost_eur"], 2000.0 * np.asarray(kpis["downtime_h"]))
    np.testing.assert_allclose(kpis["total_cost_eur"], np.asarray(kpis["maintenance_cost_eur"])
                               + kpis["failure_cost_eur"] + kpis["downtime_cost_eur"])
    wear = np.asarray(run.series["wear"])
    assert np.nanmax(wear) > 0 and np.nanmax(wear) < 0.5  # half a year of a belt that lasts about four


def test_the_virtual_plc_serves_a_conveyor_and_its_drive_energy_counter():
    from simengine.virtual_plc import PhysicsSource

    scenario = load_scenario("conveyor_line", {"fleet.count": 2})
    source = PhysicsSource(scenario, [0, 1], seed=3)
    tags = source.tagmap().tags
    assert [t.quantity for t in tags].count("load_time_s") == 2 and tags[-1].quantity == "clock_s"
    assert {t.unit for t in tags if t.quantity == "wear"} == {"mm"} and len(tags) == 2 * 7 + 2 + 1
    for _ in range(600):
        scan = source.step(1.0)
    # the drive's energy meter in rated-power seconds: the hour's load factor for 600 s, by hand from the duty
    hour = kind_of(scenario.fleet).build_duty(scenario.fleet, 24.0, replica_streams(3, 0)["duty"])
    load = np.asarray(hour.inputs(0.0, 1, 1.0).load_factor)[0]
    np.testing.assert_allclose(scan[-3:-1], 600.0 * load, rtol=1e-9)
    assert 0.35 < load.min() and load.max() <= 1.0


def test_a_conveyors_drive_is_calibrated_like_a_cranes_hoist(tmp_path):
    """Three simulated hours of readings every 5 s from the virtual PLC; the fit recovers the hidden thermal truth."""
    from simengine.calibration.job import run_job
    from simengine.config import build
    from simengine.config.calibrate import CalibrateConfig

    truth = {"thermal_tau_s": 3000.0, "thermal_resistance_K_per_W": 0.0035, "vibration_rms0": 2.2}
    cfg = build(CalibrateConfig, {"duration_s": 10800, "rate_hz": 0.2, "out_dir": str(tmp_path), "plots": False,
                                  "virtual": {"seed": 0, "true_params": truth},
                                  "fit": {"parameters": ["thermal_tau_s", "thermal_resistance_K_per_W", "ambient_C",
                                                         "initial_temp_C", "vibration_rms0"]}})
    fit = run_job(cfg, load_scenario("conveyor_line"), config={}).calibration
    for name in ("thermal_tau_s", "thermal_resistance_K_per_W"):
        value, sd = fit.value(name), fit.sd[fit.names.index(name)]
        assert abs(value - truth[name]) < 4.0 * sd and sd < 0.05 * truth[name], (name, value, sd)
