"""An asyncio Modbus TCP client for a tag map: planned reads, fixed-rate polling, gaps, guarded writes.

Reads are planned once (`plan_reads`): per register type, tags sorted by
address are packed into contiguous requests of at most 125 registers,
bridging gaps of up to `max_gap` unused registers. One poll issues them all;
pymodbus 3.16 keeps one request in flight per connection (a lock in its
transaction manager), so a poll is spread over `connections` links to the
PLC, each working through its share.

Every poll slot gives one `ReadingBlock`, timestamped (Unix seconds) when the
poll started. Tags of a request that failed are NaN and flagged
COMM_FAILURE; while the link is down every slot still gives a block, all
COMM_FAILURE, so the record shows the outage. The client reconnects with
capped exponential backoff and records each outage in `gaps` as (start_s,
end_s, reason); failed requests are simply read again at the next slot.

The twin is read-only toward a PLC: `write` raises PermissionError unless
the tag's access is "read_write" and the client has `writes_enabled=True`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from simengine.plc.codec import MAX_READ_REGISTERS, ReadRequest, TagCodec, encode_tag, plan_reads
from simengine.plc.readings import Quality, QualityAssessor, ReadingBlock, comm_failure
from simengine.plc.tags import TagMap

# pymodbus logs every refused connect and timed-out request, with hex dumps of the frames; this
# client reports each of those itself (a gap, COMM_FAILURE, PlcUnreachable), so they are noise
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

__all__ = ["MAX_READ_REGISTERS", "Backoff", "Gap", "ModbusClient", "ModbusRequestError", "ReadRequest", "plan_reads"]


class Gap(NamedTuple):
    """An outage of the link: Unix seconds from lost to restored, and why."""

    start_s: float
    end_s: float
    reason: str


@dataclass(frozen=True)
class Backoff:
    """Reconnect delays: initial_s, then ×factor per failed try, never above max_s (seconds)."""

    initial_s: float = 0.1
    max_s: float = 2.0
    factor: float = 2.0

    def __post_init__(self):
        if not 0 < self.initial_s <= self.max_s or self.factor < 1:
            raise ValueError(f"Backoff({self.initial_s}, {self.max_s}, {self.factor}): needs 0 < initial_s <= max_s "
                             "and factor >= 1")

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * self.factor ** attempt)


class ModbusRequestError(OSError):
    """The PLC answered a request with a Modbus exception response (or not at all)."""


class ModbusClient:
    """Polls the Modbus tags of `tagmap` from one PLC (endpoint from the map unless given).

    ``async with ModbusClient(m) as c: block = await c.poll_once()``.
    timeout_s bounds each request and connect; `connections` links share a
    poll's requests (pymodbus serialises requests on one link).
    """

    def __init__(self, tagmap: TagMap, *, host: str | None = None, port: int | None = None,
                 device_id: int | None = None, writes_enabled: bool = False, max_gap: int = 0,
                 timeout_s: float = 1.0, backoff: Backoff = Backoff(), connections: int = 1):
        if connections < 1:
            raise ValueError(f"connections {connections} must be >= 1")
        self.tagmap = tagmap
        self.host = tagmap.endpoint.host if host is None else host
        self.port = tagmap.endpoint.modbus_port if port is None else port
        self.device_id = tagmap.endpoint.device_id if device_id is None else device_id
        self.writes_enabled = writes_enabled
        self.timeout_s, self.backoff = timeout_s, backoff
        self.requests = plan_reads(tagmap.tags, max_gap=max_gap)
        self.tag_index = np.array([i for i, t in enumerate(tagmap.tags) if t.modbus is not None], np.intp)
        self.codec = TagCodec([tagmap.tags[i] for i in self.tag_index])
        position = {int(tag): p for p, tag in enumerate(self.tag_index)}
        self._positions = [np.array([position[i] for i in r.tags], np.intp) for r in self.requests]
        self._shares = [list(range(k, len(self.requests), connections)) for k in range(connections)]
        self._images = self.codec.new_images()
        self.assessor = QualityAssessor(tagmap)
        self.gaps: list[Gap] = []
        self.failed_requests = 0
        self.last_failure = ""  # why the last failed request failed (an exception response, a short answer)
        self.missed_slots = 0
        self._links: list[AsyncModbusTcpClient | None] = [None] * connections
        self._lost: list[asyncio.Future] = []
        self._down_since: float | None = None
        self._down_reason = ""
        self._link_reason = f"no link to {self.host}:{self.port} yet"
        self._reconnect: asyncio.Task | None = None

    # -- link ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._down_since is None and bool(self._lost) and not any(f.done() for f in self._lost)

    async def connect(self) -> bool:
        """Open every link once; on failure the outage starts now and reconnecting goes on in the background."""
        if await self._open_links():
            return True
        self._mark_down(f"cannot connect to {self.host}:{self.port}")
        return False

    async def _open_links(self) -> bool:
        self._close_links()
        loop = asyncio.get_running_loop()
        self._lost = [loop.create_future() for _ in self._links]
        self._link_reason = f"link to {self.host}:{self.port} closed"
        for k in range(len(self._links)):
            link = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0,
                                        reconnect_delay=0, trace_connect=self._tracer(self._lost[k]))
            self._links[k] = link
            if not await link.connect():
                self._close_links()
                return False
        return True

    def _tracer(self, lost: asyncio.Future) -> Callable[[bool], None]:
        def trace(up: bool) -> None:
            if not up and not lost.done():
                lost.set_result(time.time())
        return trace

    def _drop_link(self, k: int, reason: str) -> None:
        if not self._lost[k].done():
            self._lost[k].set_result(time.time())
            self._link_reason = reason
        self._links[k].close()

    def _close_links(self) -> None:
        for k, link in enumerate(self._links):
            if link is not None:
                link.close()
            self._links[k] = None

    def _mark_down(self, reason: str) -> None:
        if self._down_since is None:
            lost_at = [f.result() for f in self._lost if f.done()]
            self._down_since, self._down_reason = min(lost_at, default=time.time()), reason
        if self._reconnect is None or self._reconnect.done():
            self._reconnect = asyncio.create_task(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        attempt = 0
        while True:
            await asyncio.sleep(self.backoff.delay(attempt))
            if await self._open_links():
                self.gaps.append(Gap(self._down_since, time.time(), self._down_reason))
                self._down_since, self._down_reason = None, ""
                return
            attempt += 1

    async def close(self) -> None:
        """Close the links; an outage still open is recorded as a gap ending now."""
        if self._reconnect is not None:
            self._reconnect.cancel()
            await asyncio.gather(self._reconnect, return_exceptions=True)
        if self._down_since is not None:
            self.gaps.append(Gap(self._down_since, time.time(), self._down_reason + " (still down at close)"))
            self._down_since, self._down_reason = None, ""
        self._close_links()

    async def __aenter__(self) -> ModbusClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- reading -------------------------------------------------------------

    async def poll_once(self) -> ReadingBlock:
        """Read every planned request once: values decoded and quality-flagged, t_s = poll start."""
        t_s = time.time()
        if not self.connected:
            self._mark_down(self._link_reason)
            return comm_failure(t_s, self.tag_index)
        got: dict[int, list[int] | str] = {}
        await asyncio.gather(*(self._read_share(k, share, got) for k, share in enumerate(self._shares)))
        ok = np.ones(self.tag_index.size, bool)
        reasons = []
        for r, req in enumerate(self.requests):
            regs = got.get(r, self._link_reason)
            if isinstance(regs, str):
                ok[self._positions[r]] = False
                reasons.append(regs)
            else:
                self._images[req.register][req.address:req.address + req.count] = regs
        self.failed_requests += len(reasons)
        self.last_failure = reasons[-1] if reasons else self.last_failure
        if not self.connected:
            self._mark_down(self._link_reason)
        values = self.codec.decode(self._images)
        values[~ok] = np.nan
        quality = np.full(values.size, Quality.COMM_FAILURE, np.uint8)
        quality[ok] = self.assessor.assess(t_s, self.tag_index[ok], values[ok])
        return ReadingBlock(t_s, self.tag_index, values, quality)

    async def _read_share(self, k: int, share: list[int], got: dict[int, list[int] | str]) -> None:
        """Work through one link's requests; stop at once if the link drops."""
        work = asyncio.ensure_future(self._read_requests(k, share, got))
        await asyncio.wait((work, self._lost[k]), return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)

    async def _read_requests(self, k: int, share: list[int], got: dict[int, list[int] | str]) -> None:
        link = self._links[k]
        for r in share:
            req = self.requests[r]
            read = link.read_holding_registers if req.register == "holding" else link.read_input_registers
            try:
                response = await read(req.address, count=req.count, device_id=self.device_id)
            except (ModbusException, asyncio.TimeoutError, OSError) as err:
                # no answer: take the link for dead rather than wait out a timeout per request
                self._drop_link(k, f"no answer from {self.host}:{self.port} ({type(err).__name__}: {err})")
                return
            if response.isError():
                got[r] = f"exception response {getattr(response, 'exception_code', '?')} to {req}"
            elif len(response.registers) != req.count:
                got[r] = f"{len(response.registers)} registers returned for {req}"
            else:
                got[r] = response.registers

    async def run(self, rate_hz: float, duration_s: float | None = None,
                  sink: Callable[[ReadingBlock], object] | None = None) -> int:
        """Poll at `rate_hz` (Hz) on an absolute schedule for `duration_s` (s; None: forever).

        Each slot hands one block to `sink` (a function or coroutine function).
        A slot whose time passed entirely while an earlier poll overran gets
        a COMM_FAILURE block at its scheduled time (counted in `missed_slots`).
        Returns the number of slots.
        """
        if not rate_hz > 0:
            raise ValueError(f"rate_hz {rate_hz} must be > 0")
        period = 1.0 / rate_hz
        slots = None if duration_s is None else round(duration_s * rate_hz)
        loop = asyncio.get_running_loop()
        t0, wall0 = loop.time(), time.time()
        k = 0
        while slots is None or k < slots:
            delay = t0 + k * period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if -delay >= period:
                block = comm_failure(wall0 + k * period, self.tag_index)
                self.missed_slots += 1
            else:
                block = await self.poll_once()
            if sink is not None and inspect.isawaitable(result := sink(block)):
                await result
            k += 1
        return k

    # -- writing -------------------------------------------------------------

    async def write(self, tag_name: str, value: float) -> None:
        """Write one engineering value to a holding-register tag, if allowed (see module doc)."""
        tag = self.tagmap.by_name(tag_name)
        if tag.access != "read_write":
            raise PermissionError(f"write to tag {tag_name!r} refused: its access is {tag.access!r}; "
                                  "only tags with access 'read_write' may be written")
        if not self.writes_enabled:
            raise PermissionError(f"write to tag {tag_name!r} refused: writes are not enabled for this client "
                                  "(create it with writes_enabled=True); the twin is read-only toward a PLC by default")
        if tag.modbus is None or tag.modbus.register != "holding":
            where = "no modbus address" if tag.modbus is None else "an input register, read-only in Modbus"
            raise PermissionError(f"write to tag {tag_name!r} refused: it has {where}; only holding registers can be written")
        registers, clipped = encode_tag(tag, value)
        if clipped:
            raise ValueError(f"value {value!r} for tag {tag_name!r} does not fit its {tag.dtype} register(s) "
                             f"(scale {tag.scale}, offset {tag.offset}); refusing to write a clipped value")
        if not self.connected:
            raise ConnectionError(f"write to tag {tag_name!r}: no link to {self.host}:{self.port}")
        try:
            response = await self._links[0].write_registers(tag.modbus.address, registers, device_id=self.device_id)
        except (ModbusException, asyncio.TimeoutError, OSError) as err:
            raise ModbusRequestError(f"write to tag {tag_name!r}: no answer from {self.host}:{self.port} ({err})") from err
        if response.isError():
            raise ModbusRequestError(f"write to tag {tag_name!r} at holding register {tag.modbus.address} rejected "
                                     f"by the PLC with exception code {getattr(response, 'exception_code', '?')}")
