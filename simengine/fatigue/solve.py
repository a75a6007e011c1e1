"""Solving a sampled fatigue batch in chunks of replicas, on any pool (this process, local processes, Dask).

The driver draws every replica's parameters and the shared load history
(`simengine.fatigue.runner.sample_batch`); what remains is a pure function of
them, replica by replica, so a chunk of replicas can be solved anywhere. A
chunk is padded to the common chunk size with copies of its last replica, so
each worker compiles one shape; replica i's result does not depend on the
chunk it is in (the jitted batch is elementwise over replicas), which makes a
batch bitwise identical on every executor, worker count and chunk size.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from simengine.config.fatigue import GeometryConfig
from simengine.fatigue.batch import BatchResult, ReplicaParams

TASKS_PER_WORKER = 4  # a few tasks per worker, so one slow worker does not hold up the end


class InProcess:
    """The pool of this process: tasks one after another, here (the interface of `simengine.batch.pools`)."""

    workers = 1

    def imap(self, fn: Callable, tasks):
        for i, args in enumerate(tasks):
            yield i, fn(*args)

    def close(self) -> None:
        pass


def fatigue_chunk_size(replicas: int, workers: int, serial: bool) -> int:
    """Replicas per task: all of them in this process (one vectorised call), else a few tasks per worker."""
    return replicas if serial else max(1, math.ceil(replicas / (TASKS_PER_WORKER * max(workers, 1))))


def chunk_bounds(replicas: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) of consecutive chunks of at most `size` replicas covering 0..replicas-1."""
    return [(lo, min(lo + size, replicas)) for lo in range(0, replicas, size)]


def take(params: ReplicaParams, lo: int, hi: int, pad_to: int) -> ReplicaParams:
    """Replicas lo..hi-1 of `params`, padded to `pad_to` with copies of replica hi-1 (same shape, one compile)."""
    def part(x):
        x = np.asarray(x)[lo:hi]
        return np.concatenate([x, np.repeat(x[-1:], pad_to - x.size)]) if x.size < pad_to else x

    return ReplicaParams(*(part(getattr(params, name)) for name in ReplicaParams.__dataclass_fields__))


def solve_chunk(geometry: GeometryConfig, params: ReplicaParams, multipliers: np.ndarray, record_every: int,
                n: int) -> BatchResult:
    """The task a pool runs: the first `n` replicas of `params` through every block; NumPy arrays back."""
    import jax

    from simengine.fatigue.batch import run_constant_Y, run_variable_Y

    if geometry.kind == "constant":
        result = run_constant_Y(params, multipliers, geometry.Y, record_every)
    else:
        from simengine.fatigue.crack_growth import finite_width_edge_crack_Y

        result = run_variable_Y(params, multipliers, finite_width_edge_crack_Y, geometry.width_m, record_every)
    result = jax.device_get(result)
    return BatchResult(failure_block=np.asarray(result.failure_block)[:n], status=np.asarray(result.status)[:n],
                       crack_m=np.asarray(result.crack_m)[:n])


def solve_on(pool, geometry: GeometryConfig, params: ReplicaParams, multipliers: np.ndarray, record_every: int, *,
             chunk: int | None = None, progress: bool = False,
             on_chunk: Callable[[], None] | None = None) -> BatchResult:
    """Every replica of `params` solved on `pool`, `chunk` replicas per task (None: `fatigue_chunk_size`),
    assembled in replica order. With `progress`, a bar of replicas done, rate and time left.
    `on_chunk` is called after each finished chunk (a place to honour a pending Ctrl-C)."""
    n = int(np.asarray(params.paris_C).size)
    size = min(n, chunk or fatigue_chunk_size(n, pool.workers, serial=not hasattr(pool, "client") and pool.workers == 1))
    bounds = chunk_bounds(n, size)
    tasks = [(geometry, take(params, lo, hi, size), multipliers, record_every, hi - lo) for lo, hi in bounds]
    out: dict[str, np.ndarray] = {}
    with tqdm(total=n, desc="fatigue", unit="replica", disable=not progress, smoothing=0.1) as bar:
        for k, part in pool.imap(solve_chunk, tasks):
            lo, hi = bounds[k]
            for name in ("failure_block", "status", "crack_m"):
                values = getattr(part, name)
                if name not in out:
                    out[name] = np.empty((n, *values.shape[1:]), dtype=values.dtype)
                out[name][lo:hi] = values
            bar.update(hi - lo)
            del part
            gc.collect()
            if on_chunk is not None:
                on_chunk()
    return BatchResult(**out)
