"""An asyncio OPC UA client that turns a tag map's subscriptions into ReadingBlocks.

Nothing is dropped silently:

- Each monitored item has an explicit queue (`queue_size` >= 2: a queue of one
  coalesces values without a trace, OPC 10000-4 §5.12.1.5) and overflow
  policy (`discard_oldest`). A server that overflows a queue sets the Overflow
  info bit on the value after the gap; that value is flagged Quality.DROPPED
  and counted in `drops`.
- Notification messages are numbered per subscription; a gap in the numbers
  is filled by Republish where the server still holds the message, else a
  block of NaN values flagged DROPPED covers the subscription's tags and
  `lost_messages` counts it.
- A lost link emits a COMM_FAILURE block for its tags, is reconnected with
  capped exponential backoff, and its subscriptions are created again (the
  server then sends current values); each outage is a `Gap` in `gaps`. A link
  is lost when its transport closes, the health probe fails, a subscription
  sends neither data nor keep-alive for 1.5 keep-alive periods (+ 1 s), or the
  server's clock (ServerStatus.CurrentTime), once seen advancing, stands still
  for `server_clock_timeout_s`: a server that is shutting down can accept a
  connection and answer it without ever publishing a value again.
- A tag with a `stale_after_s` that receives nothing for longer than that
  (while its link is up) gets a block repeating its last value flagged STALE,
  once per silence: on a subscription, no notification means no change.

Values are engineering values (raw · scale + offset, in each tag's unit), timed
by the server's source timestamp in Unix seconds and flagged by a
`QualityAssessor`. Many tags are sharded over several subscriptions and
connections by `OpcUaClient`, and over processes by `ProcessShards` (`simengine.plc.opcua_shards`). Whole
notification messages are decoded into arrays, not one callback per value:
one process takes 12,000 values/s at ~15 % of a core (asyncua's per-value
handler manages ~5-8k/s). The client is read-only unless a tag is
read_write and `writes_enabled`.

This module is the public entry: the configuration and the client (start, stop,
write, notifications into blocks). `opcua_link` holds one connection with its
login, watchdog and reconnection; `opcua_subscriptions` a subscription's
monitored items and message numbering; `opcua_shards` clients in several processes.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from asyncua import ua

from simengine.config.validate import build, spec, to_dict
from simengine.plc.codec import INT_RANGE
from simengine.plc.opcua_link import SECURE, Gap, Link
from simengine.plc.opcua_server import VARIANT
from simengine.plc.readings import Quality, QualityAssessor, ReadingBlock
from simengine.plc.secrets import Credentials, redact_passwords
from simengine.plc.tags import TagMap
from simengine.results.provenance import redact_url

# asyncua logs a lost link as a 'Publish iteration crashed' traceback and warnings from the closing
# session; this client reports the loss itself (a gap, COMM_FAILURE, a warning, PlcUnreachable),
# so for a user they are noise that looks like a crash
logging.getLogger("asyncua.client").setLevel(logging.CRITICAL)

__all__ = ["SECURE", "Gap", "OpcUaClient", "OpcUaClientConfig"]


@dataclass(frozen=True)
class OpcUaClientConfig:
    """How to subscribe (intervals in ms, timeouts in s) and how to log in."""

    url: str | None = spec(None, doc="server URL; default: the tag map's endpoint.opcua_url")
    publishing_interval_ms: float = spec(1000.0, gt=0.0)
    sampling_interval_ms: float = spec(0.0, ge=0.0, doc="0: every change the server sees")
    queue_size: int = spec(10, ge=2, doc="values queued per tag between publishes; 1 would coalesce silently")
    discard_oldest: bool = spec(True, doc="on overflow the server drops the oldest (or the newest) value; flagged either way")
    notify_on_timestamp: bool = spec(True, doc="report a value again when only its source timestamp changes")
    tags_per_subscription: int = spec(2000, ge=1)
    connections: int = spec(1, ge=1, doc="client connections (sessions) the tags are split over")
    reconnect_initial_s: float = spec(0.5, gt=0.0)
    reconnect_max_s: float = spec(2.0, gt=0.0, doc="backoff cap: a link is back within this of the server's return, "
                                  "plus the time to subscribe again (~2 s for 12,000 tags)")
    request_timeout_s: float = spec(10.0, gt=0.0)
    watchdog_s: float = spec(2.0, gt=0.0, doc="link health probe interval")
    keepalive_s: float = spec(3.0, gt=0.0, doc="a quiet subscription sends a keep-alive this often; none for "
                              "1.5 times as long (+ 1 s) counts as a lost link")
    server_clock_timeout_s: float = spec(5.0, gt=0.0, doc="the server's CurrentTime, once seen advancing, standing "
                                         "still this long counts as a lost link (a server shutting down)")
    session_timeout_s: float = spec(30.0, ge=5.0, doc="the server forgets an abandoned session after this")
    writes_enabled: bool = spec(False)
    security: str = spec("none", choices=("none", SECURE))
    certificate: str | None = spec(None, doc="client application certificate (DER or PEM)")
    private_key: str | None = spec(None)
    server_certificate: str | None = spec(None, doc="default: the one the server's endpoint presents")

    def check(self):
        problems = [(name, None, f"is required when security = {SECURE!r}") for name in ("certificate", "private_key")
                    if self.security == SECURE and getattr(self, name) is None]
        if self.reconnect_max_s < self.reconnect_initial_s:
            problems.append(("reconnect_max_s", self.reconnect_max_s, f"must be >= reconnect_initial_s ({self.reconnect_initial_s})"))
        return problems


class OpcUaClient:
    """Subscribes to the OPC UA tags of `tagmap` (or the subset `tags`, indices into
    tagmap.tags). Blocks go to `on_block`, or else to a queue read by `next_block`."""

    def __init__(self, tagmap: TagMap, config: OpcUaClientConfig | None = None, *,
                 credentials: Credentials | None = None, tags: Sequence[int] | None = None,
                 on_block: Callable[[ReadingBlock], object] | None = None):
        self.config = build(OpcUaClientConfig, to_dict(config or OpcUaClientConfig()))
        self.tagmap, self.credentials, self.url = tagmap, credentials, self.config.url or tagmap.endpoint.opcua_url
        self.url_shown = redact_url(self.url)  # what logs and messages may show: no password
        if credentials is not None:
            redact_passwords()
        all_tags = tagmap.tags
        chosen = np.array([i for i, t in enumerate(all_tags) if t.opcua] if tags is None else tags, int)
        if not all(0 <= i < len(all_tags) and all_tags[i].opcua for i in chosen):
            raise ValueError(f"tags = {list(chosen)}: each must index an OPC UA tag of tag map {tagmap.name!r}")
        self.nodeids = {int(i): ua.NodeId.from_string(all_tags[i].opcua.node_id) for i in chosen}
        self.assessor = QualityAssessor(tagmap)
        self._scale = np.array([t.scale for t in all_tags], float)
        self._offset = np.array([t.offset for t in all_tags], float)
        self._stale_s = self.assessor.stale_s
        self._last_seen = np.full(len(all_tags), -np.inf)  # monotonic time of each tag's last value
        self._silent = np.zeros(len(all_tags), bool)  # flagged STALE for a silence that lasts
        self.gaps: list[Gap] = []
        self.unavailable: dict[str, str] = {}  # tag name -> status of a refused monitored item
        self.notifications = self.drops = self.lost_messages = 0
        self._on_block = on_block
        self._queue: asyncio.Queue[ReadingBlock] = asyncio.Queue()
        shards = np.array_split(chosen, min(self.config.connections, max(len(chosen), 1)))
        self._links = [Link(self, k, shard) for k, shard in enumerate(shards)]

    async def start(self) -> None:
        """Connect every link and subscribe; a refused login or an unreachable server raises."""
        results = await asyncio.gather(*(link.open() for link in self._links), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            raise errors[0]
        for link in self._links:
            link.task = asyncio.create_task(link.supervise())

    async def stop(self) -> None:
        for link in self._links:
            await link.close(cancel=True)

    async def __aenter__(self) -> OpcUaClient:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def next_block(self, timeout: float | None = None) -> ReadingBlock | None:
        """The next block in arrival order; None after `timeout` seconds without one."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    async def write(self, name: str, value: float) -> None:
        """Write an engineering value; refused unless the tag is read_write and writes are enabled."""
        i = next((k for k, t in enumerate(self.tagmap.tags) if t.name == name), None)
        if i is None or i not in self.nodeids:
            raise KeyError(f"tag {name!r} is not an OPC UA tag of this client (tag map {self.tagmap.name!r})")
        tag = self.tagmap.tags[i]
        if tag.access != "read_write":
            raise PermissionError(f"tag {name!r} has access {tag.access!r}: the twin writes only to read_write tags")
        if not self.config.writes_enabled:
            raise PermissionError(f"writing tag {name!r} refused: writes_enabled is False for {self.url_shown}")
        raw = (value - tag.offset) / tag.scale
        if tag.dtype in INT_RANGE:
            lo, hi = INT_RANGE[tag.dtype]
            if not (math.isfinite(raw) and lo <= round(raw) <= hi):
                raise ValueError(f"value {value} of tag {name!r} is raw {raw}, outside {tag.dtype} [{lo}, {hi}]")
            raw = int(round(raw))
        link = next(link for link in self._links if i in link.tags)
        if link.client is None:
            raise ConnectionError(f"cannot write tag {name!r}: link {link.number} to {self.url_shown} is down")
        try:
            await link.client.get_node(self.nodeids[i]).write_value(ua.DataValue(ua.Variant(raw, VARIANT[tag.dtype])))
        except (ua.uaerrors.BadUserAccessDenied, ua.uaerrors.BadNotWritable) as exc:
            raise PermissionError(f"the server refused writing tag {name!r}: {type(exc).__name__}") from exc

    def _emit(self, block: ReadingBlock) -> None:
        if self._on_block is not None:
            self._on_block(block)
        else:
            self._queue.put_nowait(block)

    def _on_items(self, items: list[ua.MonitoredItemNotification]) -> None:
        """Turn one message's notifications into one block per source timestamp."""
        tags, raws, codes, times = [], [], [], []
        stamps: dict[datetime | None, float] = {}
        for item in items:
            dv = item.Value
            value = dv.Value.Value if dv.Value is not None else None
            stamp = dv.SourceTimestamp or dv.ServerTimestamp
            if stamp not in stamps:
                stamps[stamp] = _unix(stamp)
            tags.append(item.ClientHandle)
            raws.append(value if isinstance(value, (int, float)) else math.nan)
            codes.append(dv.StatusCode.value if dv.StatusCode is not None else 0)
            times.append(stamps[stamp])
        self.notifications += len(tags)
        if len(stamps) == 1 and len(set(tags)) == len(tags):
            return self._emit(self._block(times[0], np.array(tags), np.array(raws, float), np.array(codes, np.uint32)))
        groups: dict[tuple[float, int], list[int]] = {}
        seen: dict[tuple[float, int], int] = {}
        for n, (tag, t) in enumerate(zip(tags, times)):
            k = seen[(t, tag)] = seen.get((t, tag), -1) + 1  # a tag twice at one time goes to a later block
            groups.setdefault((t, k), []).append(n)
        for (t, _), rows in sorted(groups.items()):
            self._emit(self._block(t, np.array(tags)[rows], np.array(raws, float)[rows], np.array(codes, np.uint32)[rows]))

    def _block(self, t_s: float, tags: np.ndarray, raw: np.ndarray, codes: np.ndarray) -> ReadingBlock:
        self._last_seen[tags] = time.monotonic()
        self._silent[tags] = False
        values = raw * self._scale[tags] + self._offset[tags]
        bad = codes >= 0x80000000
        values[bad] = np.nan
        quality = np.full(len(tags), Quality.COMM_FAILURE, np.uint8)
        quality[~bad] = self.assessor.assess(t_s, tags[~bad], values[~bad])
        quality[bad & ((codes & 0xFFFF0000) == ua.StatusCodes.BadOutOfRange)] = Quality.OUT_OF_RANGE
        quality[((codes >> 30) == 1) & (quality == Quality.GOOD)] = Quality.STALE  # Uncertain: last usable value
        overflow = ((codes & 0xC00) == 0x400) & ((codes & 0x80) != 0)  # InfoType DataValue + Overflow bit
        quality[overflow] = Quality.DROPPED
        self.drops += int(overflow.sum())
        return ReadingBlock(t_s, tags, values, quality)

    def _flag_silent(self, tags: np.ndarray) -> None:
        """Flag STALE, once, the `tags` (with a stale limit) that have received nothing for longer than it."""
        silent = tags[(time.monotonic() - self._last_seen[tags] > self._stale_s[tags]) & ~self._silent[tags]]
        if len(silent):
            self._silent[silent] = True
            self._emit(ReadingBlock(time.time(), silent, self.assessor._last_value[silent].copy(),
                                    np.full(len(silent), Quality.STALE, np.uint8)))

    def _on_lost_messages(self, tags: np.ndarray, count: int) -> None:
        self.lost_messages += count
        self._emit(ReadingBlock(time.time(), tags, np.full(len(tags), np.nan), np.full(len(tags), Quality.DROPPED, np.uint8)))


def _unix(stamp: datetime | None) -> float:
    if stamp is None:
        return time.time()
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()
