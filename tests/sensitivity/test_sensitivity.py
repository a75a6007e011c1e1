"""`simengine sensitivity`: Sobol indices through SALib, checked against the Ishigami function's closed form,
on a tiny crane fleet (common random numbers, integer rounding, same indices on every executor), and its
refusal of bad input (one message, nothing written)."""

import h5py
import numpy as np
import pytest

from simengine.batch.pools import open_pool
from simengine.cli import compose, main
from simengine.engine.simulation import run_replica
from simengine.sensitivity.command import configure
from simengine.sensitivity.evaluators import ishigami_indices
from simengine.sensitivity.parameters import scenario_at
from simengine.sensitivity.sobol import design, run_study

TINY = ["fleet.count=3", "horizon_years=1", "samples=2", "replicas=2", "resamples=100"]


def published(out_dir):
    folders = list(out_dir.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("sensitivity-"), folders  # no staging folder left
    return folders[0]


def test_closed_form_ishigami_indices_are_the_published_ones():
    exact = ishigami_indices()  # Sobol' & Levitan (1999), a=7, b=0.1
    np.testing.assert_allclose(exact["S1"], [0.3139, 0.4424, 0.0], atol=5e-5)
    np.testing.assert_allclose(exact["ST"], [0.5576, 0.4424, 0.2437], atol=5e-5)


def test_ishigami_through_the_cli_recovers_its_known_indices(tmp_path, capsys):
    assert main(["sensitivity", "model=ishigami", "samples=1024", "resamples=500", "executor=serial",
                 "plots=false", f"out_dir={tmp_path}"]) == 0
    with h5py.File(published(tmp_path) / "sensitivity.h5") as f:
        g = f["sensitivity"]
        assert [s.decode() for s in g["parameter"][:]] == ["x1", "x2", "x3"]
        S1, S1_conf, ST, ST_conf = (g[k][0] for k in ("S1", "S1_conf", "ST", "ST_conf"))
        assert f["samples/values"].shape == (1024 * 5, 3) and f["kpi/y"].shape == (1024 * 5, 1)
        np.testing.assert_array_equal(f["reference/ST"][:], ishigami_indices()["ST"])
    exact = ishigami_indices()
    # Stated tolerance: every index within its own 95 % bootstrap half-width, and within 0.02 of the exact value
    # (scrambled Sobol' points converge faster than the bootstrap, which assumes independent draws, says).
    for estimate, conf, truth in ((S1, S1_conf, exact["S1"]), (ST, ST_conf, exact["ST"])):
        error = np.abs(estimate - truth)
        assert np.all(error <= conf) and np.all(error < 0.02), (estimate, conf, truth)
        assert np.all(conf < 0.1)
    out = capsys.readouterr().out
    assert "S1 exact" in out and "x3" in out


def test_engine_study_through_the_cli_publishes_whole_and_uses_common_random_numbers(tmp_path, capsys):
    assert main(["sensitivity", *TINY, "executor=serial", f"out_dir={tmp_path}"]) == 0
    folder = published(tmp_path)
    assert {p.name for p in folder.iterdir()} == {"sensitivity.h5", "report.md", "sensitivity.png"}
    with h5py.File(folder / "sensitivity.h5") as f:
        names = [s.decode() for s in f["sensitivity/parameter"][:]]
        kpis = [s.decode() for s in f["sensitivity/kpi"][:]]
        values = f["samples/values"][:]
        cost = f["kpi/total_cost_eur"][:]
        ST, S1 = f["sensitivity/ST"][:], f["sensitivity/S1"][:]
        assert "config_yaml" in f["provenance"].attrs
    assert names == ["crews.count", "costs.downtime_eur_per_h", "fleet.components.1.life.mean",
                     "fleet.crack.paris_C.median"]
    assert kpis == ["total_cost_eur", "availability"] and ST.shape == S1.shape == (2, 4)
    assert values.shape == (2 * 6, 4) and cost.shape == (12, 2)
    crews = values[:, 0]
    assert np.all(crews == np.round(crews)) and crews.min() >= 1 and crews.max() <= 4
    # The price of downtime cannot change availability: with common random numbers, a point and its copy with
    # only that price changed give the same availability, so both its indices are exactly 0.
    assert ST[1, 1] == 0.0 and S1[1, 1] == 0.0
    assert np.isfinite(ST[0]).all()
    # Each stored value is replica i of that scenario variant, run on its own.
    plain = compose("sensitivity", TINY, "scenario")
    _, _, evaluator, _ = configure(plain)
    point = 5
    scenario = scenario_at(evaluator.plain_scenario, evaluator.parameters, values[point], "test")
    assert run_replica(scenario, 0, 1).kpis["total_cost_eur"] == cost[point, 1]
    out = capsys.readouterr().out
    assert "replica noise share" in out and "fleet.crack.paris_C.median" in out
    assert "Replica noise" in (folder / "report.md").read_text()


def study(overrides, run=True):
    settings, _, evaluator, _ = configure(compose("sensitivity", [*TINY, *overrides], "scenario"))
    points = design(evaluator, settings.samples, settings.seed)
    if not run:
        return points
    pool = open_pool(settings.executor, settings.workers)
    try:
        return run_study(evaluator, points, pool, seed=settings.seed, resamples=settings.resamples)
    finally:
        pool.close()


def test_processes_give_the_indices_serial_gives():
    serial = study(["executor=serial"])
    spread = study(["executor=processes", "workers=2"])
    for kpi in serial.kpis:
        np.testing.assert_array_equal(serial.outputs[kpi], spread.outputs[kpi])
        for field in ("S1", "S1_conf", "ST", "ST_conf"):
            np.testing.assert_array_equal(getattr(serial.indices[kpi], field), getattr(spread.indices[kpi], field))
    np.testing.assert_array_equal(serial.design.values, spread.design.values)
    assert not np.array_equal(serial.design.values, study(["seed=1"], run=False).values)


@pytest.mark.parametrize("overrides, expected", [
    (["parameters.crews.count={lower: 3}", "parameters.crews.cuont={lower: 1, upper: 2}",
      "parameters.costs.downtime_eur_per_h={lower: 10, upper: 5}", "kpis=[total_cost, availability]", "samples=12"],
     ["parameters.crews.count.upper = None: required: a Sobol parameter ranges over [lower, upper]",
      "parameters.costs.downtime_eur_per_h.upper = 5.0: must be > lower (10.0)",
      "parameters.crews.cuont = {'lower': 1, 'upper': 2}: not a scenario field: 'cuont' in crews: unknown field; "
      "known fields: count, shifts, travel_h, hourly_cost_eur, max_wave_height_m; did you mean 'count'?",
      "kpis[0] = 'total_cost': unknown KPI: must be one of",
      "did you mean 'total_cost_eur'?",
      "samples = 12: must be a power of 2 (Sobol' sequence balance), e.g. 8 or 16"]),
    (["parameters.crews.count={lower: 0, upper: 2}", "parameters.fleet.components.7.life.mean={lower: 1, upper: 2}",
      "parameters.crews.shifts={lower: 1, upper: 2}"],
     ["parameters.fleet.components.7.life.mean = {'lower': 1, 'upper': 2}: not a scenario field: "
      "fleet.components is a list of 2 item(s); name one by its index 0..1",
      "parameters.crews.shifts = {'lower': 1, 'upper': 2}: not a numeric scenario field (tuple)"]),
    (["parameters.crews.count={lower: 0, upper: 2}"],
     ["parameters.crews.count.lower = 0: the scenario refuses it: crews.count = 0: must be >= 1"]),
])
def test_bad_input_is_one_message_naming_field_value_and_rule_and_writes_nothing(tmp_path, capsys, overrides,
                                                                                  expected):
    out_dir = tmp_path / "results"
    assert main(["sensitivity", *TINY, *overrides, f"out_dir={out_dir}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simengine: ") and "Traceback" not in err
    for line in expected:
        assert line in err, (line, err)
    assert err.count("\n  - ") == len([e for e in expected if not e.startswith("did you")]), err
    assert not out_dir.exists()
