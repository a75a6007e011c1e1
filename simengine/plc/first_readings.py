"""The start of a recording: fail fast when the PLC gives nothing, and check that the map decodes it.

A recorder polling a dead PLC would otherwise write a file of COMM_FAILURE
rows and call it a success; one whose tag map has the wrong word order
would write garbage flagged GOOD. `FirstReadings` sits between a client and
the recorder: when no reading has arrived within ``first_reading_s`` (s;
default three poll intervals, at least `MIN_FIRST_S` for the protocol) it
raises `PlcUnreachable`, and once each tag has given `CHECK_POLLS` readings
(or a few poll intervals have passed: OPC UA sends only changes) it runs
`check_plausibility` over them. A wrong word order is refused
(``record.plausibility=refuse``, the default: a recording of swapped words
is worthless and the fix is one field of the map); other implausible tags
are warned about once (a broken sensor need not stop the others' recording).
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from simengine.config.plc import RecordConfig
from simengine.config.validate import ConfigError, Problem
from simengine.plc.errors import PlcUnreachable, describe_silence
from simengine.plc.plausibility import PlausibilityReport, check_plausibility
from simengine.plc.readings import Quality
from simengine.plc.tags import TagMap

CHECK_POLLS = 3  # readings per tag the plausibility check looks at
MIN_FIRST_S = {"modbus": 5.0, "opcua": 10.0}  # an OPC UA session and its subscriptions take longer to set up


class FirstReadings:
    def __init__(self, tagmap: TagMap, cfg: RecordConfig, protocol: str, host: str, port: int, *, polls_s: float,
                 last_failure=lambda: "", fields: str = "record."):
        self.tagmap, self.protocol, self.host, self.port = tagmap, protocol, host, port
        self.fields = fields  # how the command that records names its settings: record.tagmap, or tagmap
        self.last_failure = last_failure  # the client's account of its last failed request, if it has one
        self.policy = cfg.plausibility
        self.tagmap_named = cfg.tagmap or tagmap.name  # the file the user gave, else the map's name
        self.polls_s = polls_s
        self.first_s = cfg.first_reading_s or max(3.0 * polls_s, MIN_FIRST_S[protocol])
        n = len(tagmap.tags)
        self.values = np.full((CHECK_POLLS, n), np.nan)
        self.count = np.zeros(n, int)
        served = [i for i, t in enumerate(tagmap.tags) if (t.modbus if protocol == "modbus" else t.opcua)]
        self.expected = np.array(served, int)
        self.first = asyncio.Event()
        self.checked = asyncio.Event()
        self.report: PlausibilityReport | None = None

    def sink(self, append, progress=None):
        """`append` (the recorder's), watching each block on its way."""
        def take(block) -> None:
            append(block)
            answered = block.quality != Quality.COMM_FAILURE
            if answered.any() and not self.checked.is_set():
                self.first.set()
                self._collect(np.asarray(block.tags)[answered], np.asarray(block.values)[answered])
            if progress is not None:
                progress.update(block)
        return take

    def _collect(self, tags: np.ndarray, values: np.ndarray) -> None:
        k = self.count[tags]
        keep = k < CHECK_POLLS
        self.values[k[keep], tags[keep]] = values[keep]
        self.count[tags[keep]] += 1
        if (self.count[self.expected] >= CHECK_POLLS).all():
            self.checked.set()

    async def supervise(self, work, log) -> None:
        """Run `work` (the client's polling or subscription) to its end, failing fast as the module says."""
        task = asyncio.ensure_future(work)
        try:
            started = time.monotonic()
            if not await _until(self.first, task, self.first_s):
                await self._unreachable(task, min(time.monotonic() - started, self.first_s))
            await _until(self.checked, task, CHECK_POLLS * self.polls_s + 1.0)
            self._judge(log)
            await task
        finally:
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _unreachable(self, task: asyncio.Future, waited_s: float) -> None:
        if task.done() and task.exception() is not None and not isinstance(task.exception(), ConnectionError):
            raise task.exception()  # a refused login, a bad certificate: its own message says it
        what = await describe_silence(self.host, self.port, waited_s)
        if self.last_failure() and "accepts connections" in what:  # it answered, but not with readings
            what = f"answers, but gave no reading within {waited_s:.3g} s: {self.last_failure()}"
        raise PlcUnreachable(self.protocol, self.host, self.port, what) from None

    def _judge(self, log) -> None:
        if self.policy == "off":
            return
        self.report = report = check_plausibility(self.tagmap, self.values,
                                                  decoded_from_registers=self.protocol == "modbus")
        if report.word_order_wrong and self.policy == "refuse":
            raise ConfigError([Problem(f"{self.fields}tagmap", self.tagmap_named, report.message
                                       + f"; nothing recorded ({self.fields}plausibility=warn records anyway)")])
        if not report.ok:
            log(report.message)


async def _until(event: asyncio.Event, task: asyncio.Future, timeout_s: float) -> bool:
    """Wait for `event` at most `timeout_s` seconds, or until `task` ends; whether the event is set."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait((waiter, task), timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    return event.is_set()
