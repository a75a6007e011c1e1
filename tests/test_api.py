"""The library API without Hydra: load a scenario, run replicas, get results."""

import math

import numpy as np
import pytest

import simengine
from simengine.api import load_scenario, run
from simengine.config import ConfigError
from simengine.results import read_run


def small(name="crane_fleet", **over):
    return load_scenario(name, {"fleet.count": 3, "horizon_years": 0.5, **over})


def test_load_scenario_applies_overrides_and_validates():
    sc = small(**{"crews.count": 4})
    assert sc.crews.count == 4 and sc.fleet.count == 3
    with pytest.raises(ConfigError, match="crews.count = -4: must be >= 1"):
        small(**{"crews.count": -4})
    with pytest.raises(ConfigError, match="unknown scenario"):
        load_scenario("atlantis")


def test_wind_farm_runs_from_python_and_more_crews_wait_less():
    busy = {"fleet.count": 30, "horizon_years": 2.0}
    few = run(small("wind_farm", **busy, **{"crews.count": 1}), replicas=2, seed=4)
    many = run(small("wind_farm", **busy, **{"crews.count": 6}), replicas=2, seed=4)
    assert few.kpis["crew_wait_h"].mean() > many.kpis["crew_wait_h"].mean()
    assert 0 < few.summary["availability"]["mean"] <= 1


def test_run_writes_a_readable_file_with_provenance(tmp_path):
    result = run(small(), replicas=2, seed=3, out_dir=tmp_path)
    data = read_run(result.path)
    assert data.seed == 3
    np.testing.assert_array_equal(data.kpis["failures"], result.kpis["failures"])
    assert data.provenance["config"]["scenario"]["fleet"]["count"] == 3
    assert set(data.summary["availability"]) >= {"mean", "ci95_low", "ci95_high"}


def _same(a, b):
    return all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def test_same_seed_same_kpis_on_every_executor():
    # serial against a local process pool, chunked (2 + 1 replicas), replica by replica with its events;
    # Dask with 1 and 2 workers: tests/batch/test_dask.py
    sc = small()
    serial = run(sc, replicas=3, seed=11)
    procs = run(sc, replicas=3, seed=11, executor="processes", workers=2, chunk=2)
    for a, b in zip(serial.replicas, procs.replicas):
        assert _same(a.kpis, b.kpis)
        np.testing.assert_array_equal(a.events, b.events)
    other = run(sc, replicas=3, seed=12)
    assert not all(_same(a.kpis, b.kpis) for a, b in zip(serial.replicas, other.replicas))


def test_a_crash_mid_batch_leaves_no_result_file(tmp_path, monkeypatch):
    import simengine.batch.stream as ex

    real = ex.run_replica

    def flaky(scenario, seed, replica, **kwargs):
        if replica == 1:
            raise RuntimeError("worker lost")
        return real(scenario, seed, replica, **kwargs)

    monkeypatch.setattr(ex, "run_replica", flaky)
    with pytest.raises(RuntimeError, match="worker lost"):
        run(small(), replicas=2, seed=0, out_dir=tmp_path)
    assert list(tmp_path.rglob("*.h5")) == [] and list(tmp_path.rglob("*tmp*")) == []


def test_top_level_names():
    assert simengine.load_scenario is load_scenario and simengine.run is run


# --- nothing runs and nothing is left behind on a mistake -------------------------

def spy_on_replicas(monkeypatch) -> list[int]:
    import simengine.batch.stream as ex

    ran, real = [], ex.run_replica

    def counted(scenario, seed, replica, **kwargs):
        ran.append(replica)
        return real(scenario, seed, replica, **kwargs)

    monkeypatch.setattr(ex, "run_replica", counted)
    return ran


@pytest.mark.parametrize(("arguments", "message"), [
    ({"replicas": 0}, "replicas = 0: must be >= 1"),
    ({"replicas": -3}, "replicas = -3: must be >= 1"),
    ({"workers": 0, "executor": "processes"}, "workers = 0: must be >= 1"),
    ({"executor": "threads"}, "executor = 'threads': must be one of serial, processes, dask"),
])
def test_bad_run_arguments_are_refused_before_anything_is_created(arguments, message, tmp_path, monkeypatch):
    ran = spy_on_replicas(monkeypatch)
    with pytest.raises(ConfigError, match=message):
        run(small(), out_dir=tmp_path / "results", **arguments)
    assert ran == [] and list(tmp_path.iterdir()) == []


def test_an_unwritable_out_dir_is_refused_before_any_replica_runs(tmp_path, monkeypatch):
    ran = spy_on_replicas(monkeypatch)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(ConfigError, match=r"out_dir = '.*a_file/results': .*a_file is not a folder"):
        run(small(), replicas=1, out_dir=tmp_path / "a_file" / "results")
    with pytest.raises(ConfigError, match=r"out_dir = '/proc/simengine-results': cannot write in /proc"):
        run(small(), replicas=1, out_dir="/proc/simengine-results")
    assert ran == [] and [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_the_result_folder_appears_only_when_complete(tmp_path, monkeypatch):
    import simengine.api as api

    def broken_plots(data, folder):
        assert not list((tmp_path / "results").glob("crane_fleet-*")), "a half-written result is visible"
        raise OSError("disk full")

    monkeypatch.setattr(api, "plot_run", broken_plots)
    with pytest.raises(OSError, match="disk full"):
        run(small(), replicas=1, out_dir=tmp_path / "results")
    assert list(tmp_path.iterdir()) == []  # not even the out_dir it made for the result
    monkeypatch.undo()
    result = run(small(), replicas=1, out_dir=tmp_path / "results")
    assert sorted(p.name for p in result.path.parent.iterdir()) == ["availability.png", "crack_fan.png", "run.h5", "timeline.png"]
    assert [p.name for p in (tmp_path / "results").iterdir()] == [result.path.parent.name]


# --- progress -------------------------------------------------------------------

def test_one_replica_shows_its_simulated_years_when_asked(capsys, monkeypatch):
    import functools

    import tqdm

    sc = small(**{"horizon_years": 2.0})
    # tqdm redraws at most every 0.1 s, and with its code compiled a 2-year replica runs in less: every update
    # drawn, so that the years the bar passes through are seen however fast the replica runs
    monkeypatch.setattr(tqdm, "tqdm", functools.partial(tqdm.tqdm, mininterval=0))
    shown = run(sc, replicas=1, seed=5, progress=True)
    err = capsys.readouterr().err
    assert "replica 0: 0.0/2 years" in err and err.count("/2 years") >= 2
    quiet = run(sc, replicas=1, seed=5)  # progress=None: stderr is captured, not a terminal
    assert capsys.readouterr().err == ""
    assert _same(shown.replicas[0].kpis, quiet.replicas[0].kpis)  # stepping the clock changes nothing
    np.testing.assert_array_equal(shown.replicas[0].events, quiet.replicas[0].events)


def test_serial_replicas_show_both_bars(capsys):
    run(small(), replicas=2, seed=1, progress=True)
    err = capsys.readouterr().err
    assert "crane_fleet" in err and "2/2" in err and "replica 1" in err


# --- a script without the __main__ guard ------------------------------------------

UNGUARDED = """
import simengine

scenario = simengine.load_scenario("crane_fleet", {"fleet.count": 2, "horizon_years": 0.1})
simengine.run(scenario, replicas=2, executor="processes", workers=2)
print("done")
"""


def test_an_unguarded_script_gets_one_clear_message(tmp_path):
    import subprocess
    import sys

    from pace import deadline

    script = tmp_path / "example.py"
    script.write_text(UNGUARDED)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=deadline(120))
    assert proc.returncode != 0 and "done" not in proc.stdout
    assert 'if __name__ == "__main__":' in proc.stderr.splitlines()[-1]
    assert "An attempt has been made to start a new process" not in proc.stderr
    guarded = UNGUARDED.replace("simengine.run(", "def main():\n    simengine.run(")
    script.write_text(guarded + 'if __name__ == "__main__":\n    main()\n    print("guarded")\n')
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=deadline(120))
    assert proc.returncode == 0 and "guarded" in proc.stdout, proc.stderr


AUTO_PROGRESS = """
import simengine

if __name__ == "__main__":
    scenario = simengine.load_scenario("crane_fleet", {"fleet.count": 2, "horizon_years": 0.5})
    simengine.run(scenario, replicas=1)
"""


def test_progress_is_shown_by_default_only_on_a_terminal(tmp_path, capfd):
    import os
    import fcntl
    import pty
    import select
    import struct
    import termios
    import subprocess
    import sys

    from pace import deadline

    script = tmp_path / "auto.py"
    script.write_text(AUTO_PROGRESS)
    leader, follower = pty.openpty()
    # A fresh pty is 0 columns wide, in which tqdm draws nothing; a real terminal has a size.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.run([sys.executable, str(script)], stderr=follower, stdout=subprocess.DEVNULL,
                              timeout=deadline(60))
        # The follower stays open, so what the script wrote waits in the terminal until read.
        shown = b""
        while select.select([leader], [], [], 0.2)[0]:
            shown += os.read(leader, 65536)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 0 and b"replica 0: 0.0/0.5 years" in shown
    # the same run with stderr not a terminal (captured to a file here, as a pipe would take it): nothing shown
    run(load_scenario("crane_fleet", {"fleet.count": 2, "horizon_years": 0.5}), replicas=1)
    assert capfd.readouterr().err == ""
