"""A recording's span is timed by the PLC's scan clock, not by when the readings arrived.

A virtual PLC served at time_factor 60 delivers an hour of scans in a minute: timed by arrival, the
recorded load would be 60x too dense and the fatigue life 60x too short, without a word."""

import dataclasses
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest
import yaml
from pace import deadline, wait_until

import simengine
from simengine.cli import main
from simengine.fatigue.spectrum import clock_span_s, spectrum_from_hdf5
from simengine.plc.readings import ReadingBlock
from simengine.plc.recorder import Recorder, read_recording
from simengine.virtual_plc import PhysicsSource

TAG = "sts_crane00.boom_strain.0"
FACTOR = 60.0


@pytest.fixture(scope="module")
def scans():
    """3600 one-second scans of crane 0 (seed 2) and its tag map: the virtual PLC stepped once for the module."""
    src = PhysicsSource(simengine.load_scenario("crane_fleet", {"fleet.count": 1}), [0], seed=2)
    return src.tagmap(), np.array([src.step(1.0) for _ in range(3600)])


def record(scans, path, *, clock=lambda t_s, k: t_s, with_clock=True, n=3600):
    """The first n of the scans, arriving FACTOR times faster than the PLC's clock runs."""
    tagmap, values = scans
    if not with_clock:
        tagmap = dataclasses.replace(tagmap, tags=tagmap.tags[:-1])  # the clock is the last tag
    with Recorder(path, tagmap, flush_interval_s=5.0) as rec:
        for k in range(n):
            v = values[k].copy()
            v[-1] = clock(v[-1], k)
            v = v if with_clock else v[:-1]
            rec.append(ReadingBlock(1.7e9 + k / FACTOR, np.arange(v.size), v, np.isnan(v).astype(np.uint8)))
    return path


def test_span_follows_the_plc_clock_not_arrival(scans, tmp_path):
    spec = spectrum_from_hdf5(record(scans, tmp_path / "fast.h5"), TAG, youngs_modulus_MPa=210000.0)
    assert spec.block_h == pytest.approx(1.0, rel=1e-9)  # 3600 one-second scans, not 60 s of arrivals
    assert spec.recorded_h == pytest.approx(1.0, rel=1e-9)
    assert spec.time_base.startswith("PLC scan clock (sts_crane.plc_clock_s")


def test_a_clock_that_restarts_is_summed_over_its_segments(scans, tmp_path):
    restarted = record(scans, tmp_path / "restart.h5", clock=lambda t_s, k: t_s if k < 2000 else t_s - 1990.0)
    spec = spectrum_from_hdf5(restarted, TAG, youngs_modulus_MPa=210000.0)
    assert spec.block_h == pytest.approx(1.0, rel=1e-9)  # last - first would say 1610 s
    assert "1 clock restart(s) bridged" in spec.time_base


def test_clock_span_sums_advances_and_ignores_repeated_scans():
    assert clock_span_s(np.array([10.0, 11.0, 11.0, 12.0, 13.0])) == (4.0, 0, 0, 0.0)
    assert clock_span_s(np.array([100.0, 101.0, 102.0, 1.0, 2.0, 3.0])) == (6.0, 1, 0, 0.0)
    assert clock_span_s(np.array([0.0, 1.0, 2.0, 602.0, 603.0])) == (5.0, 0, 1, 599.0)  # the link was down


def test_a_gap_in_the_readings_does_not_dilute_the_load(scans, tmp_path):
    """Ten minutes without strain readings (a sensor or link down): the cycles seen are not spread over them."""
    whole = record(scans, tmp_path / "whole.h5")
    with h5py.File(whole, "a") as f:
        g = f["recording"]
        col = [t.decode() if isinstance(t, bytes) else t for t in g["tag"][:]].index(TAG)
        q = g["quality"][...]
        q[1000:1600, col] = 4  # flagged: not counted
        g["quality"][...] = q
    spec = spectrum_from_hdf5(whole, TAG, youngs_modulus_MPa=210000.0)
    assert spec.recorded_h == pytest.approx(3000.0 / 3600.0, rel=1e-9)
    assert "1 gap(s) without readings, 600 s, not counted" in spec.time_base


def test_without_a_clock_tag_arrival_time_is_used_and_said(scans, tmp_path, capsys):
    path = record(scans, tmp_path / "noclock.h5", with_clock=False)
    spec = spectrum_from_hdf5(path, TAG, youngs_modulus_MPa=210000.0)
    assert spec.block_h == pytest.approx(1.0 / FACTOR, rel=1e-6)
    assert spec.time_base.startswith("arrival time (no clock tag in the recording")


def test_fatigue_summary_and_file_say_the_time_base(scans, tmp_path, capsys):
    path = record(scans, tmp_path / "fast.h5")
    code = main(["fatigue", "replicas=100", "horizon_years=5", "plots=false", "load.source=hdf5",
                 f"load.hdf5.path={path}", f"load.hdf5.variable={TAG}", f"out_dir={tmp_path / 'out'}"])
    out = capsys.readouterr().out
    assert code == 0
    assert "load time base:         PLC scan clock (sts_crane.plc_clock_s)" in out
    (h5,) = (tmp_path / "out").glob("*/fatigue.h5")
    with h5py.File(h5, "r") as f:
        provenance = yaml.safe_load(f["provenance"].attrs["config_yaml"])
    assert provenance["load_time_base"]["time_base"] == "PLC scan clock (sts_crane.plc_clock_s)"
    assert provenance["load_time_base"]["recorded_h"] == pytest.approx(1.0, rel=1e-9)


def test_a_recording_shorter_than_one_load_cycle_is_refused(scans, tmp_path, capsys):
    path = record(scans, tmp_path / "short.h5", n=3)
    code = main(["fatigue", "replicas=10", "load.source=hdf5", f"load.hdf5.path={path}", f"load.hdf5.variable={TAG}",
                 f"out_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert code == 2 and "no load cycle closes" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_served_at_time_factor_60_recorded_and_run_as_a_user_would(tmp_path):
    """`plc serve serve.time_factor=60` -> `plc record` for a few seconds -> `fatigue load.source=hdf5`."""
    port, rec = _free_port(), tmp_path / "rec.h5"
    serve = subprocess.Popen([sys.executable, "-m", "simengine", "plc", "serve", "serve.protocols=[modbus]",
                              f"serve.modbus_port={port}", "serve.rate_hz=10", f"serve.time_factor={FACTOR:g}",
                              "serve.duration_s=300"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _listening(port) or serve.poll() is not None, 60, what="the virtual PLC to listen")
        assert serve.poll() is None, serve.communicate()[1][-2000:]
        recorded = subprocess.run([sys.executable, "-m", "simengine", "plc", "record", "record.protocol=modbus",
                                   f"record.port={port}", "record.rate_hz=10", "record.duration_s=8",
                                   f"record.out={rec}"],
                                  capture_output=True, text=True, timeout=deadline(180))
    finally:
        serve.terminate()
        serve.communicate(timeout=deadline(30))
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    r = read_recording(rec)
    clock = r.values[:, r.tags.index("sts_crane.plc_clock_s")]
    good = (r.quality[:, r.tags.index(TAG)] == 0) & np.isfinite(clock)
    simulated_s = clock_span_s(clock[good]).seconds
    arrival_s = clock_span_s(r.time_s[good]).seconds
    assert 20.0 < simulated_s / arrival_s < 100.0  # the PLC ran about 60x faster than the link delivered
    fatigue = subprocess.run([sys.executable, "-m", "simengine", "fatigue", "replicas=200", "plots=false",
                              "load.source=hdf5", f"load.hdf5.path={rec}", f"load.hdf5.variable={TAG}",
                              "load.hdf5.duty_fraction=0.63", f"out_dir={tmp_path / 'out'}"],
                             capture_output=True, text=True, timeout=deadline(180))
    assert fatigue.returncode == 0, fatigue.stderr[-2000:]
    assert "load time base:         PLC scan clock (sts_crane.plc_clock_s)" in fatigue.stdout
    (h5,) = (tmp_path / "out").glob("*/fatigue.h5")
    with h5py.File(h5, "r") as f:
        span_h = yaml.safe_load(f["provenance"].attrs["config_yaml"])["load_time_base"]["recorded_h"]
    assert span_h * 3600.0 == pytest.approx(simulated_s, rel=1e-9)  # the spectrum's span is the simulated span
    median = re.search(r"median life:\s+(\S+)", fatigue.stdout).group(1)
    assert median == "beyond" or float(median) > 1.0, fatigue.stdout  # timed by arrival: 60x the damage
