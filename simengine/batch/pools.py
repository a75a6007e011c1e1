"""Where tasks run: in this process, in a local process pool, or on a Dask cluster.

A pool runs independent tasks ``fn(*args)`` and hands back each result as it
finishes, with the task's position, so the caller (the only writer) can store
it at once. Every pool gives the same results; only the order and the time
differ. A task is any picklable call: a chunk of replicas today, a chunk of
(variant, replica) pairs for a sweep.
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from simengine.batch.workers import GUARD_MESSAGE, in_spawn_bootstrap, init_worker, unguarded_main_call
from simengine.config import ConfigError, Problem

EXECUTORS = ("serial", "processes", "dask")
ALLOWED_FAILURES = 3  # a task survives this many workers dying under it (killed, out of memory) before it fails


class SerialPool:
    """Tasks one after another in this process."""

    workers = 1

    def imap(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, object]]:
        for i, args in enumerate(tasks):
            yield i, fn(*args)

    def close(self) -> None:
        pass


class ProcessPool:
    """A local pool of spawn processes that die with this one."""

    def __init__(self, workers: int):
        _refuse_unguarded_script()
        self.workers = workers
        # spawn, not fork: JAX's runtime threads do not survive a fork
        ctx = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker,
                                         initargs=(multiprocessing.current_process().pid,))

    def imap(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, object]]:
        pending = {self._pool.submit(fn, *args): i for i, args in enumerate(tasks)}
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        except BrokenProcessPool as err:
            raise RuntimeError("a worker process ended before finishing its replicas. If simengine.run was called "
                               "from a script, put the call under `if __name__ == \"__main__\":` (each worker "
                               "re-runs the script's top level); otherwise a worker was killed (out of memory?)") from err
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """Tasks on a Dask cluster: a `distributed.Client` given, one connected to `address`, or a LocalCluster.

    A LocalCluster has `workers` processes of one thread each, bound to 127.0.0.1,
    without a dashboard. A worker that dies costs time, not results: the scheduler
    runs its tasks again on another worker and the nanny starts a new one.
    """

    def __init__(self, workers: int = 2, address: str | None = None, client=None, timeout_s: float = 10.0):
        import dask
        from distributed import Client, LocalCluster

        self._own_client = client is None
        self._cluster = None
        if client is not None:
            self.client = client
        elif address:
            self.client = _connect(address, timeout_s)
        else:
            _refuse_unguarded_script()
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self._cluster)
        self.workers = max(1, len(self.client.scheduler_info(n_workers=-1).get("workers", {}))) if client or address \
            else workers

    def imap(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, object]]:
        from distributed import as_completed

        futures = [self.client.submit(fn, *args, pure=False) for args in tasks]
        position = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut, result in as_completed(futures, loop=self.client.loop, with_results=True):
                yield position[fut.key], result
                fut.release()  # its result need not stay on the cluster
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def open_pool(executor, workers: int = 2, address: str | None = None, timeout_s: float = 10.0):
    """The pool for `executor`: a name in EXECUTORS, or a `distributed.Client`."""
    if not isinstance(executor, str):
        return DaskPool(client=executor)
    if executor == "processes":
        return ProcessPool(workers)
    if executor == "dask":
        return DaskPool(workers, address, timeout_s=timeout_s)
    return SerialPool()


def _connect(address: str, timeout_s: float):
    from distributed import Client

    try:
        return Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError([Problem("dask.address", address,
                                   f"must be a running Dask scheduler (tcp://host:port); none answered within "
                                   f"{timeout_s:g} s ({reason}); leave dask.address empty for a local cluster")]) from None


def _refuse_unguarded_script() -> None:
    if in_spawn_bootstrap():
        # A worker re-running an unguarded script's top level: one line, then out, before it spawns workers itself.
        sys.stderr.write(f"simengine: {GUARD_MESSAGE}\n")
        raise SystemExit(1)
    if unguarded_main_call():
        raise RuntimeError(GUARD_MESSAGE)
