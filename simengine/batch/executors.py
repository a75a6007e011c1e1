"""Monte Carlo replicas in memory, on any pool: for callers that want every replica's full results.

Replica i runs with ``SeedSequence(seed, spawn_key=(i,))`` inside
`run_replica`, so the results are the same whatever runs them: serially, in
a local process pool or on Dask, of any size, in any order. A large batch
belongs on `simengine.batch.stream`, which keeps memory flat.
"""

from __future__ import annotations

from simengine.batch.pools import EXECUTORS, open_pool
from simengine.batch.stream import run_streamed
from simengine.config.scenario import ScenarioConfig
from simengine.results.store import ReplicaResult


def run_replicas(scenario: ScenarioConfig, *, replicas: int, seed: int, executor="serial",
                 workers: int = 2, progress: bool = False) -> list[ReplicaResult]:
    """Run replicas 0..replicas-1 of `scenario`; results in replica order. `executor`: a name in
    EXECUTORS or a `distributed.Client`."""
    if isinstance(executor, str) and executor not in EXECUTORS:
        raise ValueError(f"executor = {executor!r}: must be one of {', '.join(EXECUTORS)}")
    if replicas < 1:
        raise ValueError(f"replicas = {replicas!r}: must be >= 1")
    pool = open_pool(executor, workers)
    try:
        streamed = run_streamed(scenario, replicas=replicas, seed=seed, pool=pool, keep=replicas, progress=progress)
    finally:
        pool.close()
    return [streamed.kept[i] for i in range(replicas)]
