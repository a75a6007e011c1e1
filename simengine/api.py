"""The library API, for scripts and notebooks: no Hydra needed.

    import simengine
    scenario = simengine.load_scenario("crane_fleet", {"crews.count": 4, "fleet.count": 10})
    run = simengine.run(scenario, replicas=20, seed=7)
    run.summary["availability"]["mean"], run.path
"""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import OmegaConf

from simengine.config import ConfigError, Problem, build, to_dict
from simengine.config.run import RunSettings
from simengine.config.scenario import ScenarioConfig

# JAX, the engine, HDF5 and plotting load inside the functions that run a batch, not here: a
# configuration mistake is reported, and `import simengine` returns, before any of them is imported.
if TYPE_CHECKING:
    import numpy as np

    from simengine.results import ReplicaResult

PLOT_REPLICAS = 500  # the plots draw at most this many replicas, so plotting a large batch fits in memory


def conf_dir() -> Path:
    """The Hydra config tree: $SIMENGINE_CONF, else the one shipped inside the package."""
    # Inside the package, not beside it: an installed wheel has no checkout around it.
    return Path(os.environ.get("SIMENGINE_CONF", Path(__file__).resolve().parent / "conf"))


def scenario_names() -> list[str]:
    return sorted(p.stem for p in (conf_dir() / "scenario").glob("*.yaml"))


def load_scenario(name_or_path: str | Path, overrides: dict | None = None) -> ScenarioConfig:
    """A scenario by name (``conf/scenario/<name>.yaml``) or path, with dotted-key overrides."""
    path = Path(name_or_path)
    if not path.suffix:
        path = conf_dir() / "scenario" / f"{name_or_path}.yaml"
        if not path.exists():
            raise ConfigError([unknown_scenario(str(name_or_path))])
    cfg = OmegaConf.load(path)
    for key, value in (overrides or {}).items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return build(ScenarioConfig, OmegaConf.to_container(cfg, resolve=True))


def unknown_scenario(name: str) -> Problem:
    """The problem of a scenario name that names no file: the names there are, and the closest."""
    names = scenario_names()
    close = difflib.get_close_matches(str(name), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return Problem("scenario", name, f"unknown scenario; choose one of {', '.join(names)}{hint}")


@dataclass(frozen=True)
class Run:
    """A finished batch: its KPI table, the full results of the first few replicas, and its file.

    ``replicas`` holds the events and series of the replicas this call ran among
    the first `keep` (all of them are in run.h5); ``kpis`` covers every replica.
    """

    scenario: ScenarioConfig
    seed: int
    replicas: list[ReplicaResult]
    path: Path | None
    kpi_table: dict[str, np.ndarray]
    profile: Path | None = None  # profile.txt, with profile=True

    @property
    def kpis(self) -> dict[str, np.ndarray]:
        return self.kpi_table

    @property
    def summary(self) -> dict[str, dict]:
        from simengine.engine.kpis import kpi_catalogue
        from simengine.results import summarize

        return summarize(self.kpis, kpi_catalogue(self.scenario))


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM ended a run whose finished replicas are kept in `folder`, for ``resume=folder``."""

    def __init__(self, folder: Path, done: int, total: int, signal: BaseException):
        super().__init__(f"interrupted: {done} of {total} replicas are kept in {folder}; "
                         f"run again with resume={str(folder)!r} to finish")
        self.folder, self.done, self.total, self.signal = folder, done, total, signal


def run(scenario: ScenarioConfig, *, replicas: int = 8, seed: int = 0, executor="serial", workers: int = 2,
        out_dir: str | Path | None = None, plots: bool = True, progress: bool | None = None,
        settings: dict | None = None, dask_address: str | None = None, dask_timeout_s: float = 10.0,
        resume: str | Path | None = None, chunk: int | None = None, keep: int | None = None,
        on_chunk: Callable[[], None] | None = None, profile: bool = False) -> Run:
    """Run a Monte Carlo batch; with `out_dir`, publish ``<out_dir>/<name>-<UTC time>/`` holding run.h5 and plots.

    `executor`: "serial", "processes" (a local pool of `workers`), "dask" (a
    LocalCluster of `workers`, or the scheduler at `dask_address`, waited for
    `dask_timeout_s` seconds), or a `distributed.Client`. The same seed gives the
    same results on every executor, any worker count, any `chunk` (replicas per
    task; None: automatic) and across a resume.

    The arguments and `out_dir` are checked before anything runs (a mistake is
    one ConfigError). Finished replicas are streamed into a hidden staging folder
    in `out_dir`; the run's folder appears only once run.h5 and the plots are
    complete. An error removes the staging folder; Ctrl-C or SIGTERM keeps it and
    raises `Interrupted`, naming it: ``resume=<that folder>``, or the same call
    again, finishes the batch. `progress`: None shows progress bars when stderr
    is a terminal. `keep`: how many replicas' events and series stay in memory (the first ones;
    None: the scenario's ``outputs.keep_replicas``); every replica is in run.h5.
    `on_chunk` is called after each finished chunk of replicas is stored.
    `profile`: each task of replicas runs under cProfile where it runs (this process or a worker), and the
    folder gets profile.txt and profile.prof (`simengine.profiling`); needs `out_dir`.
    """
    check_run_arguments(replicas=replicas, seed=seed, executor=executor if isinstance(executor, str) else "dask",
                        workers=workers, chunk=chunk, profile=profile)
    if profile and out_dir is None and resume is None:
        raise ConfigError([Problem("profile", profile, "writes profile.txt into the run's folder: give out_dir")])
    from simengine.batch.pools import open_pool
    from simengine.batch.resume import check_resume, find_unfinished, identity
    from simengine.batch.stream import iter_kept, run_streamed

    if progress is None:
        progress = sys.stderr.isatty()
    if keep is None:
        keep = scenario.outputs.keep_replicas
    ident = identity(to_dict(scenario), seed, replicas)
    adopt = check_resume(resume, ident) if resume is not None else None
    if out_dir is not None and adopt is None:
        check_out_dir(out_dir)
        adopt = find_unfinished(Path(out_dir), ident)
    pool = open_pool(executor, workers, dask_address, dask_timeout_s)  # an unreachable scheduler: before any file
    if profile:
        from simengine.profiling import ProfiledPool

        pool = ProfiledPool(pool)
    try:
        if adopt is None and out_dir is None:
            streamed = run_streamed(scenario, replicas=replicas, seed=seed, pool=pool, keep=keep, chunk=chunk,
                                    progress=progress, on_chunk=on_chunk)
            return Run(scenario, seed, list(iter_kept(streamed)), None, streamed.kpis)
        config = {"scenario": to_dict(scenario),
                  "run": dict(settings or {}, replicas=replicas, seed=seed,
                              executor=executor if isinstance(executor, str) else "dask")}
        return _run_to_folder(scenario, replicas, seed, pool, out_dir, adopt, config, plots, progress, chunk, keep,
                              on_chunk or (lambda: None))
    finally:
        pool.close()


def _run_to_folder(scenario, replicas, seed, pool, out_dir, adopt, config, plots, progress, chunk, keep,
                   on_chunk) -> Run:
    from simengine.batch.resume import identity, write_manifest
    from simengine.batch.stream import PIECES, done_replicas, iter_kept, pieces, run_streamed
    from simengine.engine.kpis import kpi_catalogue
    from simengine.results import read_run
    from simengine.results.publish import RESUMABLE, StagedFolder, Terminated, stamped_name
    from simengine.results.store import write_pieces

    if adopt is not None:
        staged = StagedFolder.adopt(adopt)
    else:
        staged = StagedFolder(out_dir, stamped_name(scenario.name))
    staging, kept = staged.staging, []
    with staged:
        write_manifest(staging, identity(to_dict(scenario), seed, replicas))
        try:
            if not (staging / "run.h5").exists():  # else a killed run had merged its pieces already
                streamed = run_streamed(scenario, replicas=replicas, seed=seed, pool=pool, staging=staging,
                                        keep=keep, chunk=chunk, progress=progress, on_chunk=on_chunk)
                kept = list(iter_kept(streamed))
                if getattr(pool, "stats", None) is not None:  # a profiled pool that ran replicas
                    _write_profile(pool, staging, scenario, replicas)
                write_pieces(staging / "run.h5", config=config, seed=seed, pieces=pieces(staging),
                             specs=kpi_catalogue(scenario), extra=lambda f: _write_plant(f, scenario))
                on_chunk()
            data = read_run(staging / "run.h5", max_replicas=PLOT_REPLICAS if plots else 1)
            if plots:
                plot_run(data, staging)
            on_chunk()
        except (KeyboardInterrupt, Terminated) as err:
            done = sum(len(r) for r in done_replicas(staging).values())
            raise Interrupted(staging, done, replicas, err) from err
        shutil.rmtree(staging / PIECES, ignore_errors=True)
        (staging / RESUMABLE).unlink()
        folder = staged.publish()
    profile = folder / "profile.txt" if (folder / "profile.txt").exists() else None
    return Run(scenario, seed, kept, folder / "run.h5", data.kpis, profile)


def _write_plant(f, scenario: ScenarioConfig) -> None:
    """The asset graph beside the results (/plant), for readers and the DTDL export."""
    from simengine.plant.graph import plant_graph
    from simengine.plant.store import write_graph

    write_graph(f, plant_graph(scenario), scenario)


def _write_profile(pool, staging: Path, scenario: ScenarioConfig, replicas: int) -> None:
    from simengine.profiling import write_profile

    ran = pool.results  # this call's replicas (a resumed run ran only the rest)
    where = "in this process" if pool.workers == 1 and not hasattr(pool, "client") else f"on {pool.workers} workers"
    write_profile(pool.stats, staging, f"simengine profile: {scenario.name}, {ran} of {replicas} replicas profiled "
                                       f"{where} ({pool.tasks} tasks), {scenario.describe_assets()}, "
                                       f"{scenario.horizon_years:g} years")


def plot_run(data, folder: Path) -> list[Path]:
    """The run's plots into `folder` (matplotlib is imported here, when the first run is plotted)."""
    from simengine.results import plot_run as draw

    return draw(data, folder)


def check_run_arguments(**arguments) -> None:
    """The run settings' rules (replicas >= 1, a known executor, ...), as one ConfigError."""
    build(RunSettings, arguments)


def check_out_dir(out_dir: str | Path) -> None:
    """Refuse an `out_dir` that cannot hold results, before any replica runs; create nothing."""
    path = Path(out_dir)
    existing = next(p for p in (path, *path.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise ConfigError([Problem("out_dir", str(out_dir), f"{existing} is not a folder")])
    try:  # os.access trusts the mode bits, which a read-only mount or root ignore; a real file tells
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        raise ConfigError([Problem("out_dir", str(out_dir), f"cannot write in {existing}: {err.strerror}")]) from None

