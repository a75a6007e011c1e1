"""`simengine calibrate` end to end: the embedded virtual PLC, a recording, the parameter file in a scenario
run, and clear errors for a user's mistakes."""

import h5py
import numpy as np
import pytest
import yaml

from simengine.cli import main
from simengine.results import read_run


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibrate")
    assert main(["calibrate", "duration_s=1800", f"out_dir={out}"]) == 0
    return next(out.glob("calibrate-*"))


def test_calibrate_writes_parameters_results_readings_and_plots(calibrated):
    params = yaml.safe_load((calibrated / "params.yaml").read_text())
    hidden = {"fleet.thermal.tau_s": 1500.0, "fleet.thermal.resistance_K_per_W": 0.0062,
              "fleet.vibration.natural_frequency_hz": 1.47, "fleet.vibration.rms0": 0.33}  # conf/calibrate.yaml
    assert set(params["scenario"]) == set(hidden)
    for key, true in hidden.items():
        assert params["scenario"][key] == pytest.approx(true, rel=0.02)
    tau = params["calibration"]["parameters"]["thermal_tau_s"]
    assert tau["ci"][0] < tau["value"] < tau["ci"][1] and tau["sd"] > 0
    with h5py.File(calibrated / "calibration.h5", "r") as f:
        g = f["calibration"]
        assert [n.decode() for n in g["names"][:]][:2] == ["thermal_tau_s", "thermal_resistance_K_per_W"]
        assert g["covariance"].shape == (6, 6) and g["observed"].shape == g["predicted"].shape
        # the model's heating input, from the virtual PLC's load counter: known over every interval
        assert g["heat_load_factor"].shape == g["time_s"].shape and not np.any(g["heat_load_var"][:])
        assert "password" not in f["provenance"].attrs["config"].lower()
    for png in ("calibration_fit.png", "calibration_residuals.png", "calibration_correlation.png"):
        assert (calibrated / png).stat().st_size > 10_000
    assert (calibrated / "readings.h5").exists()


def test_a_calibrated_file_changes_a_scenario_run(calibrated, tmp_path):
    common = ["run", "replicas=1", "fleet.count=2", "horizon_years=0.1", "plots=false", "progress=false"]
    assert main(common + [f"out_dir={tmp_path / 'nominal'}"]) == 0
    assert main(common + [f"out_dir={tmp_path / 'calibrated'}", f"calibration={calibrated / 'params.yaml'}"]) == 0
    nominal, tuned = (read_run(next((tmp_path / k).glob("*/run.h5"))) for k in ("nominal", "calibrated"))
    assert tuned.provenance["config"]["scenario"]["fleet"]["thermal"]["tau_s"] == pytest.approx(1500.0, rel=0.02)
    assert tuned.provenance["config"]["run"]["calibration"].endswith("params.yaml")
    # a hotter motor: R rose from 0.005 to 0.0062 K/W, so the steady rise above ambient by ~24 %
    rise = [r.series["temperature_C"][0].max() - r.series["temperature_C"][0].min() for r in (nominal, tuned)]
    assert rise[1] / rise[0] == pytest.approx(0.0062 / 0.005, rel=0.05)
    # the command line still wins over the file
    assert main(common + [f"out_dir={tmp_path / 'both'}", f"calibration={calibrated / 'params.yaml'}",
                          "fleet.thermal.tau_s=900"]) == 0
    both = read_run(next((tmp_path / "both").glob("*/run.h5")))
    assert both.provenance["config"]["scenario"]["fleet"]["thermal"]["tau_s"] == 900


def test_calibrate_from_a_recording(calibrated, tmp_path):
    assert main(["calibrate", "source=hdf5", f"hdf5={calibrated / 'readings.h5'}", f"out_dir={tmp_path}", "plots=false",
                 "fit.parameters=[thermal_tau_s,thermal_resistance_K_per_W,ambient_C,initial_temp_C]"]) == 0
    params = yaml.safe_load(next(tmp_path.glob("calibrate-*/params.yaml")).read_text())
    assert params["calibration"]["source"] == "hdf5"
    assert params["scenario"]["fleet.thermal.tau_s"] == pytest.approx(1500.0, rel=0.02)


@pytest.mark.parametrize("args, words", [
    (["fit.parameters=[thermal_tau_s,nope]"], ["fit.parameters", "nope", "unknown"]),
    (["fit.loss=l2", "asset=-1"], ["fit.loss", "asset"]),
    (["source=hdf5", "hdf5=/nonexistent/readings.h5"], ["hdf5", "not a readable recording"]),
    (["duration_s=5"], ["too little data"]),
    (["asset=99"], ["virtual", "must lie in"]),
    (["fit.initial.thermal_tau_s=-1"], ["fit.initial.thermal_tau_s", "bounds"]),
    (["fit.parameters=[thermal_tau_s,hoist_heat_W]", "fit.lower.ambient_C=0"], ["fit.lower.ambient_C"]),
])
def test_mistakes_are_one_clear_message_without_traceback(args, words, tmp_path, capsys):
    assert main(["calibrate", *args, f"out_dir={tmp_path}", "plots=false"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err, (word, err)
    assert not list(tmp_path.glob("calibrate-*/params.yaml"))  # nothing claims to be a result


def test_parameter_files_that_cannot_serve_are_refused(calibrated, tmp_path, capsys):
    assert main(["run", "calibration=/nonexistent/params.yaml", f"out_dir={tmp_path}"]) == 2
    assert "not a readable parameter file" in capsys.readouterr().err
    assert main(["fatigue", f"calibration={calibrated / 'params.yaml'}", f"out_dir={tmp_path}"]) == 2
    assert "holds no `fatigue` parameters" in capsys.readouterr().err  # a one-hour fit knows nothing of cracks


def test_same_seed_same_calibration(calibrated, tmp_path):
    assert main(["calibrate", "duration_s=1800", f"out_dir={tmp_path}", "plots=false"]) == 0
    with h5py.File(calibrated / "calibration.h5", "r") as a, \
            h5py.File(next(tmp_path.glob("calibrate-*/calibration.h5")), "r") as b:
        np.testing.assert_array_equal(a["calibration/values"][:], b["calibration/values"][:])
