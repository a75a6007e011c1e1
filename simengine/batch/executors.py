"""Monte Carlo replicas over executors.

Replica i runs with ``SeedSequence(seed, spawn_key=(i,))`` inside
`run_replica`, so the results are the same whatever runs them: serially, in
a local process pool of any size, in any order.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from tqdm import tqdm

from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import run_replica
from simengine.results.store import ReplicaResult

EXECUTORS = ("serial", "processes")


def run_replicas(scenario: ScenarioConfig, *, replicas: int, seed: int, executor: str = "serial",
                 workers: int = 2, progress: bool = False) -> list[ReplicaResult]:
    """Run replicas 0..replicas-1 of `scenario`; results in replica order."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor = {executor!r}: must be one of {', '.join(EXECUTORS)}")
    bar = tqdm(total=replicas, desc=scenario.name, unit="replica", disable=not progress or replicas < 2)
    with bar:
        if executor == "serial" or replicas == 1:
            out = []
            for i in range(replicas):
                out.append(run_replica(scenario, seed, i))
                bar.update()
            return out
        # spawn, not fork: JAX's runtime threads do not survive a fork
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(run_replica, scenario, seed, i) for i in range(replicas)]
            for fut in futures:
                fut.add_done_callback(lambda _f: bar.update())
            return [f.result() for f in futures]
