"""Finished replicas go to disk as they arrive; a killed or interrupted batch resumes to the table an
uninterrupted run gives. Real subprocesses killed with SIGKILL, real HDF5 files reopened."""

import random
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from pace import deadline, wait_until

from simengine.api import Interrupted, load_scenario, run
from simengine.cli import main
from simengine.config import ConfigError
from simengine.results import read_run

SMALL = ["fleet.count=1", "horizon_years=0.3", "replicas=30", "chunk=2", "seed=4", "plots=false", "progress=false"]


def scenario(**over):
    return load_scenario("crane_fleet", {"fleet.count": 1, "horizon_years": 0.3, **over})


def same_table(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def start(out_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simengine", "run", *SMALL, f"out_dir={out_dir}", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pieces(out_dir: Path) -> list[Path]:
    return list(out_dir.glob(".*.partial-*/pieces/replicas-*.h5"))


def every_h5_opens(out_dir: Path) -> None:
    for path in out_dir.rglob("*.h5"):
        with h5py.File(path, "r"):
            pass


@pytest.fixture(scope="module")
def expected() -> dict:
    """The uninterrupted table of SMALL, computed once for the tests that resume it."""
    return run(scenario(), replicas=30, seed=4).kpis


def test_kill_9_at_five_random_points_resumes_to_the_uninterrupted_table(tmp_path, expected):
    out_dir = tmp_path / "results"
    targets = sorted(random.Random().sample(range(1, 15), 5))  # of 15 chunks
    for target in targets:
        proc = start(out_dir)
        wait_until(lambda: len(pieces(out_dir)) >= target or proc.poll() is not None, 120, interval_s=0.02,
                   what=f"{target} chunks on disk")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=deadline(30))
        every_h5_opens(out_dir)
        (staging,) = out_dir.iterdir()
        assert staging.name.startswith(".crane_fleet-") and (staging / "batch.json").exists()
    proc = start(out_dir)  # the same command again finds the unfinished run
    out, err = proc.communicate(timeout=deadline(120))
    assert proc.returncode == 0, err
    (result,) = out_dir.iterdir()
    assert sorted(p.name for p in result.iterdir()) == ["run.h5"]
    data = read_run(result / "run.h5")
    np.testing.assert_array_equal(data.replicas, np.arange(30))
    assert same_table(expected, data.kpis), targets


def test_ctrl_c_keeps_a_resumable_folder_and_says_how_to_resume(tmp_path, expected):
    out_dir = tmp_path / "results"
    proc = start(out_dir)
    wait_until(lambda: pieces(out_dir) or proc.poll() is not None, 120, interval_s=0.02, what="a chunk on disk")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=deadline(60))
    assert proc.returncode == 130, err
    (staging,) = out_dir.iterdir()
    assert f"resume with: simengine run {' '.join(SMALL)} out_dir={out_dir} resume={staging}" in err
    assert "Traceback" not in err
    assert main(["run", *SMALL, f"out_dir={out_dir}", f"resume={staging}"]) == 0
    (result,) = out_dir.iterdir()
    assert same_table(expected, read_run(result / "run.h5").kpis)


def interrupted_run(tmp_path, monkeypatch) -> Path:
    """A run interrupted after its first chunks, in-process (Ctrl-C as the engine would see it)."""
    import simengine.batch.stream as stream

    real = stream.run_replica

    def ctrl_c_at_4(sc, seed, replica, **kwargs):
        if replica == 4:
            raise KeyboardInterrupt
        return real(sc, seed, replica, **kwargs)

    monkeypatch.setattr(stream, "run_replica", ctrl_c_at_4)
    with pytest.raises(Interrupted) as caught:
        run(scenario(), replicas=8, seed=1, chunk=2, out_dir=tmp_path, plots=False)
    monkeypatch.undo()
    assert caught.value.done == 4 and caught.value.folder.exists()
    return caught.value.folder


def test_a_resume_with_another_configuration_is_refused_naming_the_keys(tmp_path, monkeypatch, capsys):
    folder = interrupted_run(tmp_path, monkeypatch)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(ConfigError) as caught:
        run(scenario(**{"crews.count": 4}), replicas=8, seed=2, out_dir=tmp_path, resume=folder)
    (problem,) = caught.value.problems
    assert problem.field == "resume" and problem.value == str(folder)
    assert "scenario.crews.count = 4 here, 3 there" in problem.rule and "seed = 2 here, 1 there" in problem.rule
    code = main(["run", "fleet.count=1", "horizon_years=0.3", "replicas=9", "seed=1", f"resume={folder}"])
    err = capsys.readouterr().err
    assert code == 2 and "replicas = 9 here, 8 there" in err and "Traceback" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # nothing touched
    # the same configuration finishes it, to the uninterrupted table
    done = run(scenario(), replicas=8, seed=1, chunk=3, out_dir=tmp_path, resume=folder, plots=False)
    assert same_table(run(scenario(), replicas=8, seed=1).kpis, done.kpis)


def test_resume_of_a_finished_run_or_of_no_run_is_one_message(tmp_path, capsys):
    finished = run(scenario(), replicas=2, seed=1, out_dir=tmp_path / "results", plots=False).path.parent
    (tmp_path / "notes").mkdir()
    for folder, rule in ((finished, "is a finished run; nothing to resume"),
                         (tmp_path / "notes", "is not an unfinished simengine run"),
                         (tmp_path / "nowhere", "no such folder")):
        code = main(["run", "fleet.count=1", "horizon_years=0.3", "replicas=2", "seed=1", f"resume={folder}"])
        err = capsys.readouterr().err
        assert code == 2 and f"resume = '{folder}': {rule}" in err and "Traceback" not in err
    assert not (tmp_path / "nowhere").exists() and list((tmp_path / "notes").iterdir()) == []
