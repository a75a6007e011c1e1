"""A Monte Carlo batch streamed to disk: chunks of replicas on a pool, each finished chunk a piece file.

Replica i runs with ``SeedSequence(seed, spawn_key=(i,))`` inside
`run_replica`, so the results are the same whatever runs them and however
they are chunked. The driver is the only writer: each finished chunk becomes
one atomically written piece in ``<staging>/pieces/`` (whole or absent after
a crash), which a resumed run counts as done. The driver keeps the KPIs (a
few numbers per replica) and the full results of the first `keep` replicas
only, so its memory does not grow with the replica count.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from simengine.config.scenario import ScenarioConfig
from simengine.engine.simulation import run_replica
from simengine.results.store import ReplicaResult, piece_replicas, write_piece

PIECES = "pieces"
MAX_CHUNK = 100  # replicas per task at most: a resumed run loses at most one chunk per worker


def run_chunk(scenario: ScenarioConfig, seed: int, replicas: list[int], progress: bool = False,
              full_below: int | None = None) -> list[ReplicaResult]:
    """The task a pool runs: replicas `replicas` of `scenario`, in that order. With `full_below`, replicas
    from that one on come back with their KPIs only (no events, no series): what a driver that stores
    nothing keeps of them, so the rest never crosses the wire."""
    results = (run_replica(scenario, seed, i, progress=progress) for i in replicas)
    if full_below is None:
        return list(results)
    return [r if r.replica < full_below else replace(r, events=r.events[:0], series={}) for r in results]


def chunk_size(todo: int, workers: int) -> int:
    """Replicas per task: a few tasks per worker (so a slow one does not hold up the end), few enough
    tasks that their overhead stays small, and at most MAX_CHUNK."""
    return max(1, min(MAX_CHUNK, math.ceil(todo / (4 * max(workers, 1)))))


def chunks_of(todo: list[int], size: int) -> list[list[int]]:
    """`todo` cut into runs of consecutive replicas of at most `size` each."""
    out: list[list[int]] = []
    for i in todo:
        if out and len(out[-1]) < size and out[-1][-1] == i - 1:
            out[-1].append(i)
        else:
            out.append([i])
    return out


@dataclass
class Streamed:
    """What the driver holds of a batch: KPI columns and the first `keep` replicas' full results."""

    n: int
    keep: int
    kpis: dict[str, np.ndarray] = field(default_factory=dict)
    kept: dict[int, ReplicaResult] = field(default_factory=dict)

    def add(self, results: list[ReplicaResult]) -> None:
        for r in results:
            for name, value in r.kpis.items():
                self.kpis.setdefault(name, np.full(self.n, np.nan))[r.replica] = value
            if r.replica < self.keep:
                self.kept[r.replica] = r


def done_replicas(staging: Path) -> dict[Path, np.ndarray]:
    """The pieces already in a staging folder and the replicas each holds; leftover temporaries removed."""
    folder = staging / PIECES
    if not folder.is_dir():
        return {}
    for tmp in folder.glob(".*.tmp-*"):  # a piece being written when the run was killed
        tmp.unlink(missing_ok=True)
    return {p: piece_replicas(p) for p in sorted(folder.glob("replicas-*.h5"))}


def run_streamed(scenario: ScenarioConfig, *, replicas: int, seed: int, pool, staging: Path | None = None,
                 keep: int = 10, chunk: int | None = None, progress: bool = False,
                 on_chunk: Callable[[], None] | None = None) -> Streamed:
    """Run the replicas of `scenario` not yet in `staging` on `pool`, writing each finished chunk there.

    Without `staging` nothing is written. `chunk` replicas per task (None: `chunk_size`).
    With `progress`, a bar of replicas done out of `replicas`, with rate and time left.
    `on_chunk` is called after each chunk is stored (a place to re-raise a Ctrl-C a library swallowed).
    """
    streamed = Streamed(replicas, keep)
    done = done_replicas(staging) if staging is not None else {}
    finished = np.zeros(replicas, dtype=bool)
    for replica in done.values():
        finished[replica] = True
    todo = [int(i) for i in np.flatnonzero(~finished)]
    tasks = chunks_of(todo, chunk or chunk_size(len(todo), pool.workers))
    serial_years = progress and pool.workers == 1 and not hasattr(pool, "client")
    bar = tqdm(total=replicas, initial=replicas - len(todo), desc=scenario.name, unit="replica",
               disable=not progress or replicas < 2, smoothing=0.1)
    if staging is not None:
        (staging / PIECES).mkdir(exist_ok=True)
    with bar:
        full_below = keep if staging is None else None  # pieces need every replica whole
        for _i, results in pool.imap(run_chunk, [(scenario, seed, t, serial_years, full_below) for t in tasks]):
            if staging is not None:
                write_piece(_piece_path(staging, results), results)
            streamed.add(results)
            bar.update(len(results))
            del results
            gc.collect()  # a replica's simulation leaves reference cycles; collected per chunk, memory stays flat
            if on_chunk is not None:
                on_chunk()
    return streamed


def _piece_path(staging: Path, results: list[ReplicaResult]) -> Path:
    return staging / PIECES / f"replicas-{results[0].replica:09d}-{results[-1].replica:09d}.h5"


def pieces(staging: Path) -> list[Path]:
    return sorted((staging / PIECES).glob("replicas-*.h5"))


def iter_kept(streamed: Streamed) -> Iterator[ReplicaResult]:
    return (streamed.kept[i] for i in sorted(streamed.kept))
