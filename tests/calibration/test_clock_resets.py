"""A PLC that restarts starts its scan clock again: the calibration must not sort the hours after the
restart in among those before it (a silently wrong fit: τ 4 % off, k 8 %, the ambient 17 %, all outside
their intervals, with χ²/dof 1.0), but read the clock in segments, joined by arrival time."""

import dataclasses

import numpy as np
import pytest

from calibration_setup import TRUTH, first_rows
from simengine.calibration import FitSpec, fit
from simengine.calibration.baseline import baseline
from simengine.calibration.clock import ClockJoin
from simengine.calibration.job import window_of
from simengine.calibration.report import summary_text
from simengine.config import ConfigError, build
from simengine.config.calibrate import CalibrateConfig
from simengine.plc.readings import ReadingBlock
from simengine.plc.recorder import Recorder, read_recording
from simengine.plc.tags import CLOCK, LOAD_COUNTER

THERMAL = ("thermal_tau_s", "thermal_resistance_K_per_W", "ambient_C", "initial_temp_C")
RESTART_AT, DOWN_S = 1500, 30  # the PLC restarts after 1500 s and is down for 30 s


@pytest.fixture(scope="module")
def plc(hour_of_seed_8):
    """An hour of 1 Hz readings of the virtual PLC (1 % noise), the tag map, and the scenario."""
    sc, tagmap, rec = hour_of_seed_8
    return sc, tagmap, first_rows(rec, 3600)


def rerecord(path, tagmap, rec, rows, values):
    """`rows` of `rec` with `values`, through the Recorder, as a live link would have written them."""
    with Recorder(path, tagmap, flush_interval_s=np.inf, source="test") as out:
        for t, v, q in zip(rec.time_s[rows], values, rec.quality[rows]):
            out.append(ReadingBlock(float(t), np.arange(len(tagmap.tags)), v, q))
    return read_recording(path)


def restarted(plc, path):
    """The recording of a PLC that restarted: down for DOWN_S s, then its clock and its load counter
    start again from 0 while the crane's physics (and the arrival times) went on."""
    sc, tagmap, rec = plc
    tags = [t.quantity for t in tagmap.tags]
    clock, counter = tags.index(CLOCK), tags.index(LOAD_COUNTER)
    rows = np.r_[0:RESTART_AT, RESTART_AT + DOWN_S:len(rec.time_s)]
    values = rec.values[rows].copy()
    after = slice(RESTART_AT, None)
    values[after, clock] -= values[RESTART_AT, clock]
    values[after, counter] -= values[RESTART_AT, counter]
    return rerecord(path, tagmap, rec, rows, values)


def calibrate(sc, recording):
    cfg = build(CalibrateConfig, {"source": "hdf5", "fit": {"parameters": list(THERMAL), "confidence": 0.99}})
    spec = FitSpec(THERMAL, confidence=0.99)
    w = window_of(recording, cfg, sc, spec)
    return fit(w, spec, baseline(sc, w))


def test_a_restarted_plc_clock_is_read_in_segments(plc, tmp_path):
    sc = plc[0]
    cal = calibrate(sc, restarted(plc, tmp_path / "restarted.h5"))
    assert cal.window.clock_breaks == 1
    assert cal.window.time_s[-1] == pytest.approx(3599.0, abs=1e-6)  # the hour, in order, the restart a gap
    for name in THERMAL[:2]:
        i = cal.names.index(name)
        assert cal.ci_low[i] <= TRUTH[name] <= cal.ci_high[i], (name, cal.values[i], cal.sd[i])
        assert cal.values[i] == pytest.approx(TRUTH[name], rel=0.03), name  # before: τ 17 times the truth
    text = summary_text(cal)
    assert "clock: 1 resets or jumps (2 segments joined by arrival time)" in text, text


def test_a_clock_set_forward_is_a_break_too(plc, tmp_path):
    sc, tagmap, rec = plc
    clock = [t.quantity for t in tagmap.tags].index(CLOCK)
    values = rec.values.copy()
    values[2000:, clock] += 86400.0  # someone set the PLC's clock a day on
    cal = calibrate(sc, rerecord(tmp_path / "set.h5", tagmap, rec, np.arange(len(rec.time_s)), values))
    assert cal.window.clock_breaks == 1 and cal.window.gaps <= 1
    assert cal.window.time_s[-1] == pytest.approx(3599.0, abs=1e-6)


def test_a_clock_in_milliseconds_reads_as_seconds(plc, tmp_path):
    sc, tagmap, rec = plc
    clock = [t.quantity for t in tagmap.tags].index(CLOCK)
    in_ms = dataclasses.replace(tagmap, tags=tuple(dataclasses.replace(t, unit="ms") if i == clock else t
                                                   for i, t in enumerate(tagmap.tags)))
    values = rec.values.copy()
    values[:, clock] *= 1000.0
    cal = calibrate(sc, rerecord(tmp_path / "ms.h5", in_ms, rec, np.arange(len(rec.time_s)), values))
    assert cal.window.time_s[-1] == pytest.approx(3599.0, abs=1e-6)
    in_min = dataclasses.replace(tagmap, tags=tuple(dataclasses.replace(t, unit="min") if i == clock else t
                                                    for i, t in enumerate(tagmap.tags)))
    with pytest.raises(ConfigError, match=r"tags\[sts_crane.plc_clock_s\].unit = 'min': a PLC clock counts time: use one of s, ms"):
        calibrate(sc, rerecord(tmp_path / "min.h5", in_min, rec, np.arange(len(rec.time_s)), rec.values))


def test_a_clock_that_jumps_everywhere_is_refused():
    join = ClockJoin("crane.clock")
    rng = np.random.default_rng(0)
    join(np.arange(200.0), rng.random(200) * 1e6)
    with pytest.raises(ConfigError, match=r"tags\[crane.clock\].*jumps in 200 readings.*word order"):
        join.check()


def test_batches_join_as_the_whole_does():
    """The continuous Tracker feeds the clock batch by batch: the same model times as all at once."""
    arrival = np.arange(300.0) * 0.01
    clock = np.arange(300.0) * 3600.0
    clock[120:] -= clock[120] - 5.0  # a restart
    clock[200:] += 1e7  # a clock set forward
    whole = ClockJoin()(arrival, clock)
    join = ClockJoin()
    parts = np.concatenate([join(arrival[k:k + 7], clock[k:k + 7]) for k in range(0, 300, 7)])
    np.testing.assert_allclose(parts, whole)
    np.testing.assert_allclose(np.diff(whole), 3600.0)
    assert join.breaks == 2 and join.back == 1
