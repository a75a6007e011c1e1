"""A fatigue batch on an executor named as the command names it: serial, processes or dask."""

from __future__ import annotations

from simengine.batch.pools import open_pool
from simengine.config.fatigue import FatigueConfig
from simengine.fatigue import runner
from simengine.fatigue.runner import FatigueRun


def run_fatigue(cfg: FatigueConfig, *, replicas: int, seed: int, spectrum=None, executor="serial", workers: int = 2,
                dask_address: str | None = None, dask_timeout_s: float = 10.0, chunk: int | None = None,
                progress: bool = False, on_chunk=None) -> FatigueRun:
    """`simengine.fatigue.runner.run_fatigue` on `executor`: "serial" (one jitted call here, unless
    `chunk`), "processes" (a local pool of `workers`), "dask" (a LocalCluster of `workers`, or the
    scheduler at `dask_address`), a `distributed.Client`, or an open pool (`simengine.batch.pools`).
    A pool opened here is closed here. Bitwise the same result on every executor, worker count and `chunk`."""
    own_pool = isinstance(executor, str) or not hasattr(executor, "imap")
    pool = open_pool(executor, workers, dask_address, dask_timeout_s) if own_pool else executor
    try:
        return runner.run_fatigue(cfg, replicas=replicas, seed=seed, spectrum=spectrum, executor=pool, chunk=chunk,
                                  progress=progress, on_chunk=on_chunk)
    finally:
        if own_pool:
            pool.close()
