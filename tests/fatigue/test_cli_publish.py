"""`simengine fatigue` publishes its results folder whole or not at all: Ctrl-C ends it with 130, kill -9
leaves only a staging folder marked as such (swept by the next run), an unwritable out_dir is refused
before the batch. Real subprocesses, real signals."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
from pace import deadline, wait_until

from simengine.cli import main

PARTIAL = re.compile(r"^\..+\.partial-\d+$")
BIG = "replicas=60000"  # a few seconds of writing: time to land a signal inside it


def start(out_dir: Path, *overrides: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "simengine", "fatigue", f"out_dir={out_dir}", *overrides]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def entries(out_dir: Path) -> list[Path]:
    return sorted(out_dir.rglob("*")) if out_dir.exists() else []


def writing_hdf5(out_dir: Path) -> bool:
    return any(".h5" in p.name for p in entries(out_dir))


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=deadline(60))
    return proc.returncode, out, err


@pytest.mark.parametrize("when", ["batch", "write"])
def test_ctrl_c_ends_the_run_with_130_and_publishes_nothing(tmp_path, when):
    out_dir = tmp_path / "results"
    proc = start(out_dir, BIG, "plots=false")
    if when == "batch":  # the staging folder exists: the batch is about to run
        wait_until(lambda: out_dir.exists() or proc.poll() is not None, 30, what="the run to start")
    else:
        wait_until(lambda: writing_hdf5(out_dir) or proc.poll() is not None, 60, what="the HDF5 write to start")
    assert proc.poll() is None, "the run ended before the signal"
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code in (130, -signal.SIGINT), (code, out, err)  # -2: Python re-raised SIGINT on itself (a shell says 130)
    assert "results:" not in out
    assert entries(out_dir) == [] and not out_dir.exists()  # no folder, no temporary, not even the out_dir it made


@pytest.mark.parametrize("when", ["start", "write"])
def test_kill_9_leaves_only_a_marked_staging_folder_that_the_next_run_sweeps(tmp_path, when):
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    proc = start(out_dir, BIG, "plots=false")
    if when == "start":
        wait_until(lambda: entries(out_dir) or proc.poll() is not None, 30, what="the run to touch out_dir")
    else:
        wait_until(lambda: writing_hdf5(out_dir) or proc.poll() is not None, 60, what="the HDF5 write to start")
    assert proc.poll() is None, "the run ended before the kill"
    proc.send_signal(signal.SIGKILL)
    finish(proc)
    left = list(out_dir.iterdir())
    assert left and all(PARTIAL.match(p.name) and p.is_dir() for p in left), left  # nothing looks like a result
    assert main(["fatigue", "replicas=50", "horizon_years=5", "plots=false", f"out_dir={out_dir}"]) == 0
    (result,) = out_dir.iterdir()
    assert not PARTIAL.match(result.name)
    with h5py.File(result / "fatigue.h5", "r") as f:
        assert f["kpi/paris_C"].shape == (50,)


def test_a_live_runs_staging_folder_is_not_swept(tmp_path):
    from simengine.results.publish import sweep_stale

    live = tmp_path / f".fatigue-x-1.partial-{os.getppid()}"
    live.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".fatigue-y-1.partial-{int(dead.stdout)}"
    stale.mkdir()
    assert sweep_stale(tmp_path) == [stale] and live.exists() and not stale.exists()


def test_a_completed_run_leaves_one_folder_and_no_temporaries(tmp_path, capsys):
    assert main(["fatigue", "replicas=50", "horizon_years=5", f"out_dir={tmp_path}"]) == 0
    (folder,) = tmp_path.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == ["crack_fan.png", "failure_probability.png", "fatigue.h5",
                                                        "survival.png"]
    out = capsys.readouterr().out
    assert f"results: {folder / 'fatigue.h5'}" in out


@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_an_unwritable_out_dir_is_refused_before_the_batch(tmp_path, capsys, monkeypatch, where):
    import simengine.fatigue.runner as runner

    ran = []
    real = runner.run_fatigue
    monkeypatch.setattr(runner, "run_fatigue", lambda *a, **k: ran.append(1) or real(*a, **k))
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    out_dir = blocker if where == "a file" else blocker / "sub"
    code = main(["fatigue", "replicas=50", "horizon_years=5", f"out_dir={out_dir}"])
    err = capsys.readouterr().err
    assert code == 2 and f"out_dir = '{out_dir}': must be a folder this run can write" in err, err
    assert ran == []  # refused before any replica ran
    assert sorted(tmp_path.iterdir()) == [blocker] and blocker.read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_out_dir_is_refused(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    code = main(["fatigue", "replicas=50", f"out_dir={ro / 'results'}"])
    assert code == 2 and "must be a folder this run can write" in capsys.readouterr().err
    assert list(ro.iterdir()) == []


def test_ctrl_c_that_a_library_swallows_still_ends_the_run(tmp_path, monkeypatch, capsys):
    """JAX runs Python in a garbage-collection callback, where CPython prints and drops exceptions: a Ctrl-C
    landing there used to be lost, and the run went on to publish. Here one lands there for sure."""
    import gc

    import simengine.fatigue_cli.report as report

    fired = []

    def ctrl_c_in_gc(phase, info):
        if not fired:
            fired.append(phase)
            os.kill(os.getpid(), signal.SIGINT)  # its KeyboardInterrupt is raised here, and dropped by gc

    real = report.write_fatigue

    def write_with_ctrl_c(*args, **kwargs):
        gc.callbacks.append(ctrl_c_in_gc)
        try:
            path = real(*args, **kwargs)
            gc.collect()
            return path
        finally:
            gc.callbacks.remove(ctrl_c_in_gc)

    monkeypatch.setattr(report, "write_fatigue", write_with_ctrl_c)
    out_dir = tmp_path / "results"
    try:
        code = main(["fatigue", "replicas=200", "horizon_years=5", "plots=false", f"out_dir={out_dir}"])
    except KeyboardInterrupt:
        code = 130
    assert fired
    assert code == 130 and "simengine: interrupted" in capsys.readouterr().err
    assert not out_dir.exists()


def test_sigterm_ends_the_run_with_143_and_publishes_nothing(tmp_path):
    out_dir = tmp_path / "results"
    proc = start(out_dir, BIG, "plots=false")
    wait_until(lambda: out_dir.exists() or proc.poll() is not None, 30, what="the run to start")
    assert proc.poll() is None, "the run ended before the signal"
    proc.terminate()
    code, out, err = finish(proc)
    assert code == 143 and "simengine: terminated" in err, (code, err)
    assert not out_dir.exists()
