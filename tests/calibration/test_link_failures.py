"""A calibration whose readings fall short says so and fails, and a failed calibration leaves nothing
behind: a PLC that stops partway (a real loopback link), a port nothing listens on, too little data,
a bad tag map, Ctrl-C."""

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
from calibration_setup import first_rows, free_port, served_plc, thinned
from pace import deadline, wait_until

from simengine.calibration.coverage import check_coverage
from simengine.calibration.job import fit_spec, window_of
from simengine.cli import main
from simengine.config import ConfigError, build
from simengine.config.calibrate import CalibrateConfig
from simengine.plc.recorder import read_recording


def calibrating(*args, conf):
    """`simengine calibrate` started in a subprocess with its own conf tree."""
    return subprocess.Popen([sys.executable, "-m", "simengine", "calibrate", *args], text=True,
                            env={**os.environ, "SIMENGINE_CONF": str(conf)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def rows_recorded(out) -> int:
    """Rows in the recording a calibration under `out` is writing (0 before it exists)."""
    try:
        return max((len(read_recording(p).time_s) for p in out.glob("calibrate-*/readings.h5")), default=0)
    except (OSError, KeyError):  # not yet readable
        return 0


def test_a_plc_that_stops_partway_fails_the_calibration_and_leaves_nothing(tmp_path):
    """The README's serve-then-calibrate, the server ending long before the calibration: the fit used a
    quarter of the readings and said "gaps: 0", exit 0. Now: refused below min_coverage, every excluded
    reading counted by cause (comm failures too), the outage counted, exit 2, no folder."""
    scenario = thinned(per_asset=2)
    conf, out = tmp_path / "conf", tmp_path / "out"
    # long against the wait for the first rows and the PLC's stop (about 2 s on a quiet machine: a quarter of
    # the readings asked for, against the refusal's half), however slow the machine
    duration_s = deadline(8.0)
    with served_plc(scenario, conf, "serve.rate_hz=20", "serve.time_factor=100", "serve.duration_s=600") as ports:
        proc = calibrating("source=modbus", f"port={ports['modbus']}", "rate_hz=20", "time_factor=100",
                           f"duration_s={duration_s:.1f}", f"scenario={scenario.name}", f"out_dir={out}", "plots=false",
                           conf=conf)
        wait_until(lambda: rows_recorded(out) >= 10 or proc.poll() is not None, 60, 0.1, "the first readings")
    # the PLC is gone, a good part of the duration still ahead
    _, err = proc.communicate(timeout=duration_s + deadline(60))
    assert proc.returncode == 2, err
    assert "Traceback" not in err
    assert "min_coverage = 0.5: the readings fall short" in err and "asked for (duration_s × rate_hz)" in err, err
    assert "COMM_FAILURE" in err and "the link was down 1 times" in err, err
    assert not out.exists() or not list(out.iterdir()), list(out.rglob("*"))


def test_a_refused_port_ends_at_once_naming_host_and_port(tmp_path, capsys):
    """A wrong port and an hour asked for: the calibration waited out the hour; now it ends within
    seconds (the PLC client's first-reading deadline), exit 2, nothing left."""
    port = free_port()  # nothing listens on it
    started = time.monotonic()
    assert main(["calibrate", "source=modbus", f"port={port}", "duration_s=3600", f"out_dir={tmp_path}"]) == 2
    assert time.monotonic() - started < deadline(15)
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "refused" in err and "Traceback" not in err, err
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def hour(hour_of_seed_8):
    sc, _, rec = hour_of_seed_8
    return sc, first_rows(rec, 3600)


def test_coverage_between_min_coverage_and_ninety_percent_warns(hour):
    sc, rec = hour
    cfg = build(CalibrateConfig, {"source": "virtual", "duration_s": 3600.0, "fit": {"parameters": ["thermal_tau_s"]}})
    short = dataclasses.replace(rec, time_s=rec.time_s[:2500], values=rec.values[:2500], quality=rec.quality[:2500])
    w = window_of(short, cfg, sc, fit_spec(cfg))
    assert (w.received, w.expected) == (2500, 3600)
    assert "only 2500 reading times of the 3600 asked for" in check_coverage(w, cfg)
    assert check_coverage(window_of(rec, cfg, sc, fit_spec(cfg)), cfg) is None
    with pytest.raises(ConfigError, match="min_coverage = 0.75: the readings fall short: 2500 reading times"):
        check_coverage(w, dataclasses.replace(cfg, min_coverage=0.75))


@pytest.mark.parametrize("args, words", [
    (["duration_s=5"], ["too little data"]),  # collected, then refused: its 5-row recording goes too
    (["tagmap=/nonexistent/map.yaml", "source=modbus"], ["tagmap", "cannot be read"]),
    (["fit.parameters=[natural_frequency_hz]", "virtual.true_params={natural_frequency_hz: -1}"],
     ["readings[natural_frequency_hz]", "0 good"]),  # every reading of it out of range
])
def test_a_failed_calibration_leaves_nothing(args, words, tmp_path, capsys):
    assert main(["calibrate", *args, f"out_dir={tmp_path}", "plots=false"]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    assert not list(tmp_path.iterdir()), list(tmp_path.rglob("*"))


@pytest.fixture(scope="module")
def plc_at_20hz(tmp_path_factory):
    """A served PLC that stays up (20 Hz, real time, two sensors of a kind), for the tests that stop the
    calibration, not the PLC: (scenario, conf tree, ports)."""
    scenario, conf = thinned(per_asset=2), tmp_path_factory.mktemp("conf")
    with served_plc(scenario, conf, "serve.rate_hz=20", "serve.duration_s=600") as ports:
        yield scenario, conf, ports


def test_a_complete_recording_whose_fit_fails_is_kept_and_named(plc_at_20hz, tmp_path, capsys, monkeypatch):
    """Readings collected in full from a live PLC, but a fit that refuses them: the recording stays
    (collecting again costs the duration), and the message says so."""
    scenario, conf, ports = plc_at_20hz
    monkeypatch.setenv("SIMENGINE_CONF", str(conf))
    out = tmp_path / "out"
    assert main(["calibrate", "source=modbus", f"port={ports['modbus']}", "rate_hz=20", "duration_s=3", "plots=false",
                 "fit.parameters=[thermal_tau_s]", "fit.initial.thermal_tau_s=9000", "fit.upper.thermal_tau_s=5000",
                 f"scenario={scenario.name}", f"out_dir={out}"]) == 2
    err = capsys.readouterr().err
    kept = list(out.glob("calibrate-*/*"))
    assert [p.name for p in kept] == ["readings.h5"], kept
    assert f"kept: a complete recording; fit it again with source=hdf5 hdf5={kept[0]}" in err, err
    assert read_recording(kept[0]).closed_cleanly


def test_ctrl_c_leaves_nothing(plc_at_20hz, tmp_path):
    """SIGINT while collecting from a live PLC: the partial recording and the folder go."""
    scenario, conf, ports = plc_at_20hz
    out = tmp_path / "out"
    proc = calibrating("source=modbus", f"port={ports['modbus']}", "rate_hz=20", "duration_s=600",
                       f"scenario={scenario.name}", f"out_dir={out}", conf=conf)
    wait_until(lambda: rows_recorded(out) >= 10 or proc.poll() is not None, 60, 0.1, "the first readings")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=deadline(60))
    assert proc.returncode != 0 and "Traceback" not in err, err
    assert not list(out.iterdir()), list(out.rglob("*"))
