"""The calibration benchmark in quick mode: its JSON carries the figures, and every contender's answer agrees."""

import json

import numpy as np

from simengine.bench import benchmark, calibration_bench
from simengine.bench.harness import write


def test_calibration_bench_quick_writes_its_figures_and_the_answers_agree(tmp_path):
    assert benchmark("calibration") is calibration_bench.run
    result = calibration_bench.run(repeats=1, quick=True)
    payload = json.loads(write(result, tmp_path).read_text())
    assert payload["name"] == "calibration"
    fig = payload["figures"]
    for key in ("simengine_solve_warm_s", "simengine_fit_warm_s (solve + uncertainty, prediction, checks)",
                "scipy_2point_warm_s (reference)", "scipy_exact_jac_warm_s (context)",
                "ratio_scipy_2point_vs_simengine_solve", "goal_warm_fit_le_1s (whole fit)",
                "goal_ratio_ge_5x (solve vs scipy 2-point)", "scipy_2point_nfev", "scipy_2point_njev"):
        assert key in fig, key
    for label in ("simengine_solve", "simengine_fit", "scipy_2point", "scipy_exact_jac"):
        assert len(payload["timings_s"][label]) == 1 and np.isfinite(payload["timings_s"][label]).all()
    assert fig["answers_agree (params within 1e-06 rel)"] == "yes"
    for label in ("simengine_fit", "scipy_2point", "scipy_exact_jac"):
        assert fig[f"max_rel_diff_params_{label}_vs_simengine_solve"] <= 1e-6
    assert fig["simengine_status"].startswith("converged")
    assert fig["simengine_evaluations (each: r and the p-column Jacobian)"] >= 2
    assert fig["readings_times"] == 3600 and fig["residuals"] == 3600  # the motor temperature, hour by second
    for name in calibration_bench.NAMES:
        truth = fig[f"{name}_truth"]
        assert abs(fig[f"{name}_error_in_sd"]) < 4.0
        if name.startswith("thermal"):  # (a relative error of a temperature in °C means nothing)
            assert abs(fig[f"{name}_fitted"] / truth - 1.0) < 0.01  # the hidden value, from 20 % away


def test_bench_closes_with_a_table_of_headline_figures(tmp_path, capsys):
    """`simengine bench` prints one table of what each benchmark is judged by, goal beside it."""
    from simengine.bench import HEADLINES, run_benchmarks

    run_benchmarks(tmp_path, quick=True, only=["engine_overhead"], repeats=1)
    out = capsys.readouterr().out
    table = out[out.rindex("benchmark"):].splitlines()
    assert table[0].split() == ["benchmark", "figure", "value", "goal"]
    row = table[2].split()
    assert row[:2] == ["engine_overhead", HEADLINES["engine_overhead"][0]]
    assert float(row[2]) > 0 and "plain SimPy" in table[2]
