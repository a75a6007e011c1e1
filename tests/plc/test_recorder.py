"""The recorder: round trip, gaps, and a SIGKILL that leaves a readable file."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
from pace import deadline, wait_until

from simengine.plc import ReadingBlock, tagmap_from_dict
from simengine.plc.recorder import Recorder, read_recording

TAGS = {"name": "demo", "tags": [{"name": f"t{i}", "quantity": "x", "unit": "MPa", "modbus": {"address": 2 * i}}
                                 for i in range(50)]}


def block(t, n=50, tags=None):
    tags = np.arange(n) if tags is None else np.asarray(tags)
    return ReadingBlock(t, tags, np.sin(t + tags), np.zeros(tags.size, np.uint8))


def test_round_trip_partial_blocks_and_gaps(tmp_path):
    m = tagmap_from_dict(TAGS)
    with Recorder(tmp_path / "r.h5", m, flush_interval_s=0.0, config={"password": "hunter2"}) as rec:
        for t in range(10):
            rec.append(block(float(t)))
        rec.append(block(10.0, tags=[3, 4]))
        rec.add_gap(10.5, 12.0, "connection refused")
    r = read_recording(tmp_path / "r.h5")
    assert r.closed_cleanly and r.tags[:2] == ["t0", "t1"] and r.units[0] == "MPa"
    np.testing.assert_array_equal(r.time_s, np.arange(11.0))
    np.testing.assert_allclose(r.values[:10], np.sin(np.arange(10.0)[:, None] + np.arange(50)[None, :]))
    assert np.isnan(r.values[10, 0]) and r.quality[10, 0] == 255 and r.quality[10, 3] == 0
    assert r.gaps == [(10.5, 12.0, "connection refused")]
    assert b"hunter2" not in (tmp_path / "r.h5").read_bytes()


WRITER = """
import sys, time, numpy as np
from simengine.plc import ReadingBlock, tagmap_from_dict
from simengine.plc.recorder import Recorder
m = tagmap_from_dict({tags!r})
rec = Recorder(sys.argv[1], m, flush_interval_s=0.05)
t = 0
while True:
    rec.append(ReadingBlock(float(t), np.arange(50), np.full(50, float(t)), np.zeros(50, np.uint8)))
    if t % 5 == 4:
        rec.flush()
        print(t, flush=True)
    t += 1
    time.sleep(0.002)
"""


def test_sigkill_loses_at_most_the_last_flush_and_leaves_a_readable_file(tmp_path):
    path = tmp_path / "killed.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER.format(tags=TAGS), str(path)], stdout=subprocess.PIPE, text=True)
    flushed = []
    end = time.monotonic() + deadline(60)
    while len(flushed) < 40 and time.monotonic() < end:
        flushed.append(int(proc.stdout.readline()))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    r = read_recording(path)
    assert not r.closed_cleanly
    last_confirmed = flushed[-1]
    assert r.time_s.size >= last_confirmed + 1  # every row flushed before the kill is there
    np.testing.assert_array_equal(r.time_s, np.arange(r.time_s.size, dtype=float))
    np.testing.assert_array_equal(r.values[:, 7], r.time_s)


def test_blocks_of_one_update_share_a_row_whatever_their_order_and_flushes(tmp_path):
    m = tagmap_from_dict(TAGS)
    half_a, half_b = np.arange(25), np.arange(25, 50)
    with Recorder(tmp_path / "r.h5", m, flush_interval_s=0.0, reorder_s=2.0) as rec:
        for t, tags in [(1.0, half_a), (2.0, half_a), (1.0, half_b), (3.0, half_a), (2.0, half_b), (3.0, half_b)]:
            rec.append(block(t, tags=tags))  # flush_interval 0: a flush after every block
    r = read_recording(tmp_path / "r.h5")
    np.testing.assert_array_equal(r.time_s, [1.0, 2.0, 3.0])
    assert (r.quality == 0).all()


IDLE_WRITER = """
import sys, time, numpy as np
from simengine.plc import ReadingBlock, tagmap_from_dict
from simengine.plc.recorder import Recorder
rec = Recorder(sys.argv[1], tagmap_from_dict({tags!r}), flush_interval_s=0.1)
for t in range(5):
    rec.append(ReadingBlock(float(t), np.arange(50), np.full(50, 1.0), np.zeros(50, np.uint8)))
rec.open_gap(5.0, "link lost")
while True:  # no block arrives any more; a timer keeps flushing
    time.sleep(0.05)
    rec.tick()
    print("tick", flush=True)
"""


def test_a_recorder_killed_while_its_link_is_down_keeps_its_rows_and_the_open_gap(tmp_path):
    path = tmp_path / "idle.h5"
    proc = subprocess.Popen([sys.executable, "-c", IDLE_WRITER.format(tags=TAGS), str(path)], stdout=subprocess.PIPE, text=True)
    for _ in range(5):
        proc.stdout.readline()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    r = read_recording(path)
    np.testing.assert_array_equal(r.time_s, np.arange(5.0))
    assert len(r.gaps) == 1 and r.gaps[0][0] == 5.0 and np.isnan(r.gaps[0][1]) and r.gaps[0][2] == "link lost"


def test_sigkill_of_simengine_plc_record_leaves_a_readable_file(tmp_path):
    """The recorder process the CLI starts, killed mid-recording against a live virtual PLC."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "cli.h5"
    serve = subprocess.Popen([sys.executable, "-m", "simengine", "plc", "serve", "serve.protocols=[modbus]",
                              f"serve.modbus_port={port}", "serve.duration_s=60", "serve.rate_hz=5"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _listening(port), 60, interval_s=0.1, what="the virtual PLC to listen")
        record = subprocess.Popen([sys.executable, "-m", "simengine", "plc", "record", f"record.port={port}",
                                   "record.rate_hz=5", "record.duration_s=60", "record.flush_interval_s=0.5",
                                   f"record.out={out}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: _rows(out) >= 10, 60, interval_s=0.1, what="10 rows recorded")
        time.sleep(1.0)  # a second more of recording: rows past several flushes
        os.kill(record.pid, signal.SIGKILL)
        killed_at = time.time()
        record.wait()
    finally:
        serve.kill()
        serve.wait()
    r = read_recording(out)
    assert not r.closed_cleanly and r.time_s.size >= 10
    assert killed_at - r.time_s[-1] < deadline(0.5 + 0.2 + 1.0)  # at most a flush interval (+ a slot, + slack) lost
    np.testing.assert_allclose(np.diff(r.time_s), 0.2, atol=deadline(0.05))


def _listening(port):
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _rows(path):
    if not path.exists():
        return 0
    try:
        return read_recording(path).time_s.size
    except (OSError, KeyError):
        return 0


def test_a_recording_that_fails_before_its_first_row_leaves_no_file(tmp_path):
    m = tagmap_from_dict(TAGS)
    path = tmp_path / "r.h5"
    try:
        with Recorder(path, m, flush_interval_s=60.0) as rec:
            rec.append(block(0.0))  # pending: not yet a row on disk
            raise ConnectionError("the PLC went away")
    except ConnectionError:
        pass
    assert not path.exists()


def test_a_recording_that_fails_after_rows_keeps_them(tmp_path):
    m = tagmap_from_dict(TAGS)
    path = tmp_path / "r.h5"
    try:
        with Recorder(path, m, flush_interval_s=0.0) as rec:
            rec.append(block(0.0))
            rec.append(block(1.0))
            raise ConnectionError("the PLC went away")
    except ConnectionError:
        pass
    assert read_recording(path).time_s.tolist() == [0.0, 1.0]
