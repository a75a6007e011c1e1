"""`simengine fatigue` from validated settings: the load, the output folder, the batch, its publication.

Order matters to a user: a load history that cannot be read and an output
folder that cannot be written are refused before any replica runs, and the
results folder appears only when it is complete (`simengine.results.publish`).
The batch itself is the standalone toolkit's (`simengine.fatigue.runner`).
"""

from __future__ import annotations

import sys

from simengine.config import ConfigError, Problem
from simengine.config.fatigue import FatigueConfig
from simengine.config.run import FatigueSettings
from simengine.results.publish import PendingSignals, stamped_name


def run_batch(cfg: FatigueConfig, settings: FatigueSettings, plain: dict, pending: PendingSignals) -> int:
    """`simengine fatigue` after validation: load, check out_dir, run, write into staging, publish.
    `plain` is the validated configuration as plain data ("config" and "run"), for provenance.
    Prints the summary; returns the exit code."""
    from simengine.batch.pools import open_pool
    from simengine.fatigue.runner import load_spectrum

    try:
        spectrum = load_spectrum(cfg)
    except (OSError, KeyError, ValueError) as err:  # the recorded load history could not be read
        raise ConfigError([Problem("load.hdf5", cfg.load.hdf5.path, str(err))]) from None
    run = execution(settings)
    # an unreachable Dask scheduler is refused before any folder is made
    pool = open_pool(run.pop("executor"), run.pop("workers"), run.pop("dask_address"), run.pop("dask_timeout_s"))
    try:
        return _run_on(pool, cfg, settings, plain, pending, spectrum, run)
    finally:
        pool.close()


def _run_on(pool, cfg, settings, plain, pending, spectrum, run: dict) -> int:
    from simengine.fatigue.batch import INVALID
    from simengine.fatigue.runner import run_fatigue
    from simengine.fatigue_cli.report import plot_fatigue, summary_text, write_fatigue
    from simengine.results.publish import StagedFolder

    try:  # before the batch: an output folder that cannot be written costs nothing
        staged = StagedFolder(settings.out_dir, stamped_name(f"fatigue-{cfg.name}"))
    except OSError as err:
        raise ConfigError([Problem("out_dir", settings.out_dir,
                                   f"must be a folder this run can write: {err.strerror or err}")]) from None
    with staged:
        pending.check()
        result = run_fatigue(cfg, replicas=settings.replicas, seed=settings.seed, spectrum=spectrum,
                             executor=pool, on_chunk=pending.check, **run)
        pending.check()
        provenance = {"fatigue": plain["config"], "run": plain["run"]}
        if spectrum.time_base:
            provenance["load_time_base"] = {"time_base": spectrum.time_base, "recorded_h": spectrum.recorded_h,
                                            "source": spectrum.source}
        h5 = write_fatigue(result, staged.staging / "fatigue.h5", config=provenance)
        pngs = plot_fatigue(result, staged.staging) if settings.plots else []
        pending.check()
        folder = staged.publish()
    print(summary_text(result, spectrum.time_base))
    print(f"results: {folder / h5.name}")
    for png in pngs:
        print(f"plot:    {folder / png.name}")
    return 0 if (result.status != INVALID).any() else 1  # no valid replica: no answer


def execution(settings: FatigueSettings) -> dict:
    """Where the batch's replicas are solved: run_fatigue's executor arguments from the run settings."""
    progress = sys.stderr.isatty() if settings.progress is None else settings.progress
    return {"executor": settings.executor, "workers": settings.workers, "dask_address": settings.dask.address,
            "dask_timeout_s": settings.dask.timeout_s, "chunk": settings.chunk, "progress": progress}
