"""Several variants of a scenario, every replica of every variant, as one pool of tasks.

Common random numbers: replica i of every variant runs with the same
``SeedSequence(seed, spawn_key=(i,))``, so its random streams serve the same
purposes in every variant and a difference between variants is the variants'
own, not noise. All (variant, replica) work goes to the pool at once, so a
sweep fills a cluster instead of running its variants one after another.

A task hands back KPIs only (a few numbers per replica, not events and
series). With a staging folder, each finished task becomes one piece file
``pieces/variant-<v>-replicas-<first>-<last>.npz``, written whole or not at
all; a resumed sweep counts what the pieces hold as done and runs the rest.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simengine.batch.stream import chunk_size, chunks_of
from simengine.config.scenario import ScenarioConfig
from simengine.engine.kpis import KPIS
from simengine.engine.simulation import run_replica
from simengine.results.publish import atomic_path

PIECES = "pieces"


def run_kpis(scenario: ScenarioConfig, seed: int, replicas: list[int]) -> dict[str, np.ndarray]:
    """The task a pool runs: the KPIs of replicas `replicas` of `scenario`, name -> array over them."""
    rows = [run_replica(scenario, seed, i).kpis for i in replicas]
    return {name: np.array([r[name] for r in rows], dtype=np.float64) for name in KPIS}


def variant_tasks(todo: np.ndarray, workers: int, chunk: int | None = None) -> list[tuple[int, list[int]]]:
    """(variant, replicas) tasks covering the replicas `todo` (bool, variant x replica) marks, a few per worker."""
    size = chunk or chunk_size(int(todo.sum()), workers)
    return [(v, c) for v in range(todo.shape[0]) for c in chunks_of([int(i) for i in np.flatnonzero(todo[v])], size)]


def done_pieces(staging: Path, kpis: dict[str, np.ndarray]) -> np.ndarray:
    """Fill `kpis` (name -> (variant, replica)) from the pieces in `staging`; which cells they held.
    A temporary left by a killed writer is removed."""
    done = np.zeros(next(iter(kpis.values())).shape, dtype=bool)
    folder = staging / PIECES
    if not folder.is_dir():
        return done
    for tmp in folder.glob(".*.tmp-*"):
        tmp.unlink(missing_ok=True)
    for path in sorted(folder.glob("variant-*.npz")):
        with np.load(path) as piece:
            v, replicas = int(piece["variant"]), piece["replica"]
            for name in kpis:
                kpis[name][v, replicas] = piece[name]
            done[v, replicas] = True
    return done


def write_piece(staging: Path, variant: int, replicas: list[int], values: dict[str, np.ndarray]) -> Path:
    """One finished task as a piece file, atomically: a temporary, fsynced, then renamed."""
    path = staging / PIECES / f"variant-{variant:04d}-replicas-{replicas[0]:09d}-{replicas[-1]:09d}.npz"
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, variant=variant, replica=np.asarray(replicas), **values)
    return path


def run_variants(scenarios: Sequence[ScenarioConfig], *, replicas: int, seed: int, pool, chunk: int | None = None,
                 staging: Path | None = None, progress: bool = False,
                 on_chunk: Callable[[], None] | None = None) -> dict[str, np.ndarray]:
    """The KPIs of `replicas` replicas of each scenario: name -> array (variant, replica).

    Replica i of every variant uses the same seeds (common random numbers). The
    result is the same on every pool, any worker count, any `chunk` and across
    a resume: with `staging`, what its pieces hold is not run again, and each
    finished task is written there. `on_chunk` is called after each task is stored.
    """
    n = len(scenarios)
    kpis = {name: np.full((n, replicas), np.nan) for name in KPIS}
    done = np.zeros((n, replicas), dtype=bool)
    if staging is not None:
        (staging / PIECES).mkdir(exist_ok=True)
        done = done_pieces(staging, kpis)
    tasks = variant_tasks(~done, pool.workers, chunk)
    # The collection after each task would walk every long-lived object (JAX, SciPy: ~0.3 s, ten
    # small replicas' worth); frozen, they are skipped, and only what the tasks left is collected.
    gc.freeze()
    try:
        return _gather(scenarios, seed, pool, tasks, kpis, done, staging, progress, on_chunk)
    finally:
        gc.unfreeze()


def _gather(scenarios, seed, pool, tasks, kpis, done, staging, progress, on_chunk) -> dict[str, np.ndarray]:
    n, replicas = done.shape
    with tqdm(total=n * replicas, initial=int(done.sum()), desc="variants", unit="replica", disable=not progress,
              smoothing=0.1) as bar:
        for k, values in pool.imap(run_kpis, [(scenarios[v], seed, c) for v, c in tasks]):
            v, chunk_replicas = tasks[k]
            if staging is not None:
                write_piece(staging, v, chunk_replicas, values)
            for name, column in values.items():
                kpis[name][v, chunk_replicas] = column
            bar.update(len(chunk_replicas))
            del values
            gc.collect()  # a replica's simulation leaves reference cycles; collected per chunk
            if on_chunk is not None:
                on_chunk()
    return kpis
