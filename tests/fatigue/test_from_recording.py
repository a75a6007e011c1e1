"""A recorded strain history feeds the fatigue batch: virtual PLC -> recorder -> rainflow -> batch."""

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

import simengine
from simengine.cli import main
from simengine.fatigue.spectrum import paris_driver, spectrum_from_hdf5
from simengine.plc.readings import ReadingBlock
from simengine.plc.recorder import Recorder
from simengine.virtual_plc import PhysicsSource

TAG = "sts_crane00.boom_strain.0"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    scenario = simengine.load_scenario("crane_fleet", {"fleet.count": 1})
    src = PhysicsSource(scenario, [0], seed=2)
    tagmap = src.tagmap()
    path = tmp_path_factory.mktemp("rec") / "strain.h5"
    lifted_t, cycle = [], None
    with Recorder(path, tagmap, flush_interval_s=5.0) as rec:
        for k in range(3600):
            v = src.step(1.0)
            if src.cycle.lift != cycle:  # the container of this lift (hidden truth)
                cycle = src.cycle.lift
                lifted_t.append(float(src.cycle.lift_t[0]))
            rec.append(ReadingBlock(float(k), np.arange(v.size), v, np.isnan(v).astype(np.uint8)))
    return path, scenario, np.array(lifted_t)


def test_recorded_strain_gives_the_lift_spectrum(recording):
    path, scenario, lifted_t = recording
    spec = spectrum_from_hdf5(path, TAG, youngs_modulus_MPa=210000.0)
    assert spec.block_h == pytest.approx(1.0)
    assert lifted_t.size == scenario.fleet.duty.settings.lifts_per_h
    # each lift is one stress cycle of 2.4 MPa per tonne at the joint; rainflow measures it from the
    # highest noisy sample of the lift to the lowest of the return: E[max of n normals] on each side
    strain = next(s for s in scenario.fleet.sensors if s.name == "boom_strain")
    sigma_MPa = strain.noise_sd * 1e-6 * 210000.0
    n = int(3600 / scenario.fleet.duty.settings.lifts_per_h / 2)
    e_max = quad(lambda x: x * n * norm.pdf(x) * norm.cdf(x) ** (n - 1), -10, 10)[0]
    truth = np.sum((scenario.fleet.duty.settings.stress_per_t_MPa * lifted_t + 2 * e_max * sigma_MPa) ** 3)
    assert float(paris_driver(spec, 3.0)) == pytest.approx(truth, rel=0.06)  # binning (upper edges) adds < 6 %


def test_fatigue_cli_runs_on_the_recording(recording, tmp_path, capsys):
    path, _, _ = recording
    code = main(["fatigue", "replicas=200", "horizon_years=10", "load.source=hdf5", f"load.hdf5.path={path}",
                 f"load.hdf5.variable={TAG}", "load.hdf5.duty_fraction=0.63", f"out_dir={tmp_path}"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "P(failure by 10 years)" in out.out


@pytest.mark.parametrize("variable, message", [("no.such.tag", "not a tag of the recording"),
                                               ("sts_crane00.boom_vibration.0", "units = 'm/s2'")])
def test_bad_history_is_one_clear_message(recording, variable, message, tmp_path, capsys):
    path, _, _ = recording
    code = main(["fatigue", "replicas=10", "load.source=hdf5", f"load.hdf5.path={path}", f"load.hdf5.variable={variable}",
                 f"out_dir={tmp_path}"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
