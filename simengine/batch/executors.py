"""Monte Carlo replicas over executors.

Replica i runs with ``SeedSequence(seed, spawn_key=(i,))`` inside
`run_replica`, so the results are the same whatever runs them: serially, in
a local process pool of any size, in any order.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from tqdm import tqdm

from simengine.batch.workers import GUARD_MESSAGE, in_spawn_bootstrap, init_worker, unguarded_main_call
from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import run_replica
from simengine.results.store import ReplicaResult

EXECUTORS = ("serial", "processes")


def run_replicas(scenario: ScenarioConfig, *, replicas: int, seed: int, executor: str = "serial",
                 workers: int = 2, progress: bool = False) -> list[ReplicaResult]:
    """Run replicas 0..replicas-1 of `scenario`; results in replica order.

    With `progress`, a bar counts replicas; a serial run also shows each
    replica's simulated years, so one long replica is seen to move.
    """
    if executor not in EXECUTORS:
        raise ValueError(f"executor = {executor!r}: must be one of {', '.join(EXECUTORS)}")
    if replicas < 1:
        raise ValueError(f"replicas = {replicas!r}: must be >= 1")
    bar = tqdm(total=replicas, desc=scenario.name, unit="replica", disable=not progress or replicas < 2)
    with bar:
        if executor == "serial" or replicas == 1:
            out = []
            for i in range(replicas):
                out.append(run_replica(scenario, seed, i, progress=progress))
                bar.update()
            return out
        return _in_processes(scenario, replicas, seed, workers, bar)


def _in_processes(scenario: ScenarioConfig, replicas: int, seed: int, workers: int, bar: tqdm) -> list[ReplicaResult]:
    if in_spawn_bootstrap():
        # A worker re-running an unguarded script's top level: one line, then out, before it spawns workers itself.
        sys.stderr.write(f"simengine: {GUARD_MESSAGE}\n")
        raise SystemExit(1)
    if unguarded_main_call():
        raise RuntimeError(GUARD_MESSAGE)
    # spawn, not fork: JAX's runtime threads do not survive a fork
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker,
                             initargs=(multiprocessing.current_process().pid,)) as pool:
        futures = [pool.submit(run_replica, scenario, seed, i) for i in range(replicas)]
        for fut in futures:
            fut.add_done_callback(lambda _f: bar.update())
        try:
            return [f.result() for f in futures]
        except BrokenProcessPool as err:
            raise RuntimeError("a worker process ended before finishing its replica. If simengine.run was called "
                               "from a script, put the call under `if __name__ == \"__main__\":` (each worker "
                               "re-runs the script's top level); otherwise a worker was killed (out of memory?)") from err
