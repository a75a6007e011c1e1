"""Readings that are garbage (a tag map's wrong word order, times that collapse) end a calibration with
one clear message and exit code 2, never a traceback or a fit of the garbage, and leave nothing behind."""

import dataclasses

import numpy as np
import pytest

import simengine
from simengine.calibration.sources import record_virtual
from simengine.calibration.window import TagInfo, align
from simengine.cli import main
from simengine.config import ConfigError
from simengine.plc.codec import decode_words, encode_raw
from simengine.plc.readings import QualityAssessor, ReadingBlock
from simengine.plc.recorder import Recorder
from simengine.virtual_plc import PhysicsSource


@pytest.fixture(scope="module")
def swapped(tmp_path_factory):
    """Ten minutes of the default scenario's virtual PLC, its float32 tags decoded with the words swapped:
    one recording flagged by the map's valid ranges, one by a map without them."""
    folder = tmp_path_factory.mktemp("swapped")
    src = PhysicsSource(simengine.load_scenario("crane_fleet"), [0], seed=0)
    tagmap = src.tagmap()
    rec = record_virtual(src, folder / "plain.h5", duration_s=600, rate_hz=1.0)
    values = rec.values.copy()
    for j, tag in enumerate(tagmap.tags):
        if tag.dtype == "float32":
            values[:, j] = decode_words(encode_raw(values[:, j], "float32", "big")[0], "float32", "little")
    paths = {}
    for name, ranges in (("ranged", True), ("unranged", False)):
        assessor = QualityAssessor(tagmap)
        paths[name] = folder / f"{name}.h5"
        with Recorder(paths[name], tagmap, flush_interval_s=np.inf) as out:
            for t, v in zip(rec.time_s, values):
                q = assessor.assess(t, np.arange(v.size), v) if ranges else np.where(np.isfinite(v), 0, 1).astype(np.uint8)
                out.append(ReadingBlock(float(t), np.arange(v.size), v, q))
    return paths


@pytest.mark.parametrize("which", ["ranged", "unranged"])
def test_a_wrong_word_order_is_one_clear_message(swapped, which, tmp_path, capsys):
    assert main(["calibrate", "source=hdf5", f"hdf5={swapped[which]}", f"out_dir={tmp_path}", "plots=false"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "tags[sts_crane00." in err and "word_order" in err and "readings like it" in err, err
    assert not list(tmp_path.iterdir())


def test_times_that_collapse_are_no_division_by_zero():
    """Times spanning 1e300 (a clock decoded with its words swapped) collapse when rebased on the first:
    the intervals came out 0, every other one a long gap, and the load over them ZeroDivisionError."""
    tags = [TagInfo("load", "load_factor", 0, "1"), TagInfo("temp", "temperature_C", 0, "degC")]
    n = 40
    time_s = np.concatenate([[-1e300], np.arange(1, 20) * 1e-300, 1e6 + 200.0 * np.arange(20)])
    values = np.column_stack([np.tile([0.1, 0.9], n // 2), 20 + 0.01 * np.arange(n)])
    w = align(time_s, values, np.zeros((n, 2), np.uint8), tags, {"load": 1.0, "temp": 1.0}, asset=0, steady_load_s=60.0)
    assert np.all(w.dt_s > 0)


def test_a_recording_made_under_other_sensor_gains_is_refused(tmp_path):
    """A recording read with another scenario's sensor gains (a strain gauge's µε per unit load) was
    scaled silently: every load off by the ratio of the gains."""
    from simengine.calibration.collect import collect
    from simengine.config import build, to_dict
    from simengine.config.calibrate import CalibrateConfig

    recorded = simengine.load_scenario("crane_fleet")
    path = tmp_path / "readings.h5"
    record_virtual(PhysicsSource(recorded, [0]), path, duration_s=60, rate_hz=1.0, config={"scenario": to_dict(recorded)})
    sensors = tuple(dataclasses.replace(s, gain=2 * s.gain) if s.observes == "load_factor" else s
                    for s in recorded.fleet.sensors)
    other = dataclasses.replace(recorded, name="crane_strain2", fleet=dataclasses.replace(recorded.fleet, sensors=sensors))
    cfg = build(CalibrateConfig, {"source": "hdf5", "hdf5": str(path)})
    assert len(collect(cfg, recorded, path).time_s) == 60
    with pytest.raises(ConfigError, match=r"scenario = 'crane_strain2': the recording was made under scenario "
                                          r"'crane_fleet' \(tags \['sts_crane00.boom_strain.0'.*calibrate it with scenario=crane_fleet"):
        collect(cfg, other, path)
