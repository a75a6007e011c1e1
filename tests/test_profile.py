"""`simengine run ... profile=true`: where the replicas' time went, without changing a result."""

import statistics
import sys
from pstats import Stats

import numpy as np
import pytest

from simengine.cli import main
from simengine.config import ConfigError
from simengine.profiling import ProfiledPool, module_of, profiled_call, report

TINY = ["fleet.count=2", "horizon_years=1", "replicas=2", "seed=3", "plots=false", "progress=false"]


def kpi_table(out: str) -> str:
    """The KPI table a run prints: its stdout without the banner and the file lines."""
    return "\n".join(line for line in out.splitlines()[1:] if not line.startswith(("results:", "profile:")))


def test_a_profiled_run_names_the_engine_and_changes_no_kpi(tmp_path, capsys):
    import h5py

    assert main(["run", *TINY, f"out_dir={tmp_path / 'plain'}"]) == 0
    plain = capsys.readouterr().out
    assert main(["run", *TINY, "profile=true", f"out_dir={tmp_path / 'profiled'}"]) == 0
    profiled = capsys.readouterr().out
    assert kpi_table(profiled) == kpi_table(plain) and "availability" in kpi_table(plain)
    (plain_h5,) = (tmp_path / "plain").glob("*/run.h5")
    (folder,) = (tmp_path / "profiled").glob("crane_fleet-*")
    with h5py.File(plain_h5) as a, h5py.File(folder / "run.h5") as b:
        for name in a["kpi"]:
            np.testing.assert_array_equal(a["kpi"][name][()], b["kpi"][name][()])
    assert f"profile: {folder / 'profile.txt'}" in profiled
    assert not list((tmp_path / "plain").glob("*/profile.*"))

    stats = Stats(str(folder / "profile.prof"))  # read back by pstats itself
    functions = {(f.replace("\\", "/").split("simengine/")[-1], name) for f, _line, name in stats.stats}
    assert ("engine/simulation.py", "run_replica") in functions
    text = (folder / "profile.txt").read_text()
    assert "2 of 2 replicas profiled in this process" in text
    assert f"{stats.total_tt:.3f} s of replica time profiled" in text
    assert "simengine.engine.simulation:" in text and "(run_replica)" in text
    packages = text.split("Own time by package\n")[1].split("\n\n")[0].splitlines()[1:]
    seconds = {line.split()[-1]: float(line.split()[0]) for line in packages}
    assert "simengine.engine" in seconds and "jax" in seconds
    assert sum(seconds.values()) == pytest.approx(stats.total_tt, abs=0.001 * len(seconds))  # shares, no double count


class SpawnPool:
    """Tasks in one spawned process, as a pool: what ProcessPool does without its workers importing the engine
    (each of those loads JAX; `simengine run executor=processes profile=true` is the whole path)."""

    workers = 1

    def __init__(self):
        import multiprocessing

        self.pool = multiprocessing.get_context("spawn").Pool(1)

    def imap(self, fn, tasks):
        return enumerate(self.pool.starmap(fn, tasks))

    def close(self):
        self.pool.close()
        self.pool.join()


def test_tasks_are_profiled_where_they_run_and_merged():
    import os

    pool = ProfiledPool(SpawnPool())
    try:
        tasks = [([1, 5, 3],), ([2, 9, 4, 8],), ([7],)]
        results = dict(pool.imap(statistics.median, tasks))
        results["pid"] = dict(pool.imap(os.getpid, [()]))[0]
    finally:
        pool.close()
    assert {k: results[k] for k in range(3)} == {0: 3, 1: 6.0, 2: 7} and results["pid"] != os.getpid()
    calls = {name: nc for (_f, _l, name), (_cc, nc, *_rest) in pool.stats.stats.items()}
    assert calls["median"] == 3 and pool.tasks == 4  # one call in each task, merged


def test_a_package_of_ones_own_is_named_in_the_profile(tmp_path, monkeypatch):
    from simengine import profiling

    package = tmp_path / "myplant"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "kinds.py").write_text("def wear(n):\n    return sum(i * i for i in range(n))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    profiling._import_roots.cache_clear()
    try:
        from myplant.kinds import wear

        result, raw = profiled_call(wear, 200_000)
        text = report(Stats(profiling._RawStats(raw)), "mine")
        assert module_of(statistics.__file__) == "statistics [stdlib]"
    finally:
        profiling._import_roots.cache_clear()
        sys.modules.pop("myplant.kinds", None)
        sys.modules.pop("myplant", None)
    assert result == sum(i * i for i in range(200_000))
    assert "myplant.kinds:1(wear)" in text
    packages = text.split("Own time by package\n")[1].split("\n\n")[0]
    assert "myplant" in packages  # the generator's and sum's time counted to the package that called them


def test_profile_is_refused_where_it_cannot_be_written(tmp_path, capsys):
    import simengine

    scenario = simengine.load_scenario("crane_fleet", {"fleet.count": 2, "horizon_years": 1})
    with pytest.raises(ConfigError, match="profile = True: writes profile.txt into the run's folder: give out_dir"):
        simengine.run(scenario, replicas=1, profile=True)
    assert main(["run", "-m", "crews.count=1,2", "profile=true", f"out_dir={tmp_path}"]) == 2
    assert "profile = True: profiles one run, not a sweep (-m)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
