"""OPC UA clients in several processes: one `OpcUaClient` per process over a share of the tags,
their blocks merged through one multiprocessing queue.

One process takes ~12,000 values/s; past that, the tags are split over processes.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import queue
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from simengine.plc.opcua_client import Gap, OpcUaClient, OpcUaClientConfig
from simengine.plc.readings import ReadingBlock
from simengine.plc.secrets import Credentials
from simengine.plc.tags import TagMap


@dataclass(frozen=True)
class ShardReport:
    """What one shard process did: counts, outages, and the CPU and wall seconds it ran subscribed."""

    shard: int
    notifications: int = 0
    drops: int = 0
    lost_messages: int = 0
    gaps: tuple[Gap, ...] = ()
    cpu_s: float = 0.0
    wall_s: float = 0.0
    error: str | None = None


class ProcessShards:
    """Runs one `OpcUaClient` per process, each over a contiguous share of the OPC UA tags,
    and merges their blocks through one multiprocessing queue (in arrival order)."""

    def __init__(self, tagmap: TagMap, config: OpcUaClientConfig | None = None, *, processes: int = 2,
                 credentials: Credentials | None = None):
        if processes < 1:
            raise ValueError(f"processes = {processes}: must be at least 1")
        opcua = np.array([i for i, t in enumerate(tagmap.tags) if t.opcua], int)
        ctx = mp.get_context("spawn")  # forking a process that runs an event loop is unsafe
        self._queue, self._stop = ctx.Queue(), ctx.Event()
        self._procs = [ctx.Process(target=run_shard, daemon=True, name=f"opcua-shard-{k}",
                                   args=(tagmap, config, share.tolist(), credentials, self._queue, self._stop, k))
                       for k, share in enumerate(np.array_split(opcua, processes))]
        self._pending: deque[ReadingBlock] = deque()
        self.reports: list[ShardReport] = []

    def start(self, timeout_s: float = 60.0) -> None:
        """Start the processes; returns when every shard has subscribed, raises if one failed."""
        for proc in self._procs:
            proc.start()
        ready: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(ready) < len(self._procs):
            try:
                item = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                self.stop()
                missing = sorted(set(range(len(self._procs))) - ready)
                raise TimeoutError(f"OPC UA shards {missing} did not subscribe within {timeout_s} s") from None
            if isinstance(item, tuple):
                ready.add(item[1])
            elif isinstance(item, ShardReport):
                self.stop()
                raise ConnectionError(f"OPC UA shard {item.shard} failed to start: {item.error}")
            else:
                self._pending.append(item)

    def get(self, timeout: float | None = None) -> ReadingBlock | None:
        """The next block from any shard; None after `timeout` seconds without one."""
        if self._pending:
            return self._pending.popleft()
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, ShardReport):
            self.reports.append(item)
            return self.get(timeout)
        return item if isinstance(item, ReadingBlock) else self.get(timeout)

    def stop(self, timeout_s: float = 15.0) -> list[ShardReport]:
        """Stop every shard; blocks still in flight stay available to `get`."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        alive = [p for p in self._procs if p.pid is not None]
        while len(self.reports) < len(alive) and time.monotonic() < deadline:
            try:
                item = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if isinstance(item, ShardReport):
                self.reports.append(item)
            elif isinstance(item, ReadingBlock):
                self._pending.append(item)
        for proc in alive:
            proc.join(timeout=max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join()
        return sorted(self.reports, key=lambda r: r.shard)

    def __enter__(self) -> ProcessShards:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def run_shard(tagmap: TagMap, config: OpcUaClientConfig | None, tags: list[int], credentials: Credentials | None,
              out, stop_event, shard: int) -> None:
    """Process entry point: one client over `tags` until `stop_event` is set; blocks go to the
    queue `out`, then a `ShardReport`."""
    asyncio.run(_run_shard(tagmap, config, tags, credentials, out, stop_event, shard))


async def _run_shard(tagmap, config, tags, credentials, out, stop_event, shard) -> None:
    client = OpcUaClient(tagmap, config, credentials=credentials, tags=tags, on_block=out.put)
    try:
        await client.start()
    except Exception as exc:
        out.put(ShardReport(shard, error=f"{type(exc).__name__}: {exc}"))
        return
    out.put(("ready", shard))
    wall0, cpu0 = time.monotonic(), time.process_time()  # steady state: from subscribed to stop
    while not stop_event.is_set():
        await asyncio.sleep(0.05)
    await client.stop()
    out.put(ShardReport(shard, client.notifications, client.drops, client.lost_messages, tuple(client.gaps),
                          time.process_time() - cpu0, time.monotonic() - wall0))
