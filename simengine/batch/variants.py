"""Several variants of a scenario, every replica of every variant, as one pool of tasks.

Common random numbers: replica i of every variant runs with the same
``SeedSequence(seed, spawn_key=(i,))``, so its random streams serve the same
purposes in every variant and a difference between variants is the variants'
own, not noise. All (variant, replica) work goes to the pool at once, so a
sweep fills a cluster instead of running its variants one after another.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence

import numpy as np
from tqdm import tqdm

from simengine.batch.stream import chunk_size, chunks_of, run_chunk
from simengine.config.scenario import ScenarioConfig
from simengine.engine.kpis import KPIS


def variant_tasks(n_variants: int, replicas: int, workers: int, chunk: int | None = None) -> list[tuple[int, list[int]]]:
    """(variant, replicas) tasks covering every replica of every variant, a few tasks per worker."""
    size = chunk or chunk_size(n_variants * replicas, workers)
    size = min(size, replicas)
    return [(v, c) for v in range(n_variants) for c in chunks_of(list(range(replicas)), size)]


def run_variants(scenarios: Sequence[ScenarioConfig], *, replicas: int, seed: int, pool, chunk: int | None = None,
                 progress: bool = False, on_chunk: Callable[[], None] | None = None) -> dict[str, np.ndarray]:
    """The KPIs of `replicas` replicas of each scenario: name -> array (variant, replica).

    Replica i of every variant uses the same seeds (common random numbers). The
    result is the same on every pool, any worker count and any `chunk`.
    """
    n = len(scenarios)
    kpis = {name: np.full((n, replicas), np.nan) for name in KPIS}
    tasks = variant_tasks(n, replicas, pool.workers, chunk)
    with tqdm(total=n * replicas, desc="variants", unit="replica", disable=not progress, smoothing=0.1) as bar:
        for k, results in pool.imap(run_chunk, [(scenarios[v], seed, c) for v, c in tasks]):
            v = tasks[k][0]
            for r in results:
                for name, value in r.kpis.items():
                    kpis[name][v, r.replica] = value
            bar.update(len(results))
            del results
            gc.collect()  # a replica's simulation leaves reference cycles; collected per chunk
            if on_chunk is not None:
                on_chunk()
    return kpis
