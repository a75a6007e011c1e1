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
connections by `OpcUaClient`, and over processes by `ProcessShards`. Whole
notification messages are decoded into arrays, not one callback per value:
one process takes 12,000 values/s at ~15 % of a core (asyncua's per-value
handler manages ~5-8k/s). The client is read-only unless a tag is
read_write and `writes_enabled`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing as mp
import queue
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from asyncua import Client, ua
from asyncua.common.subscription import Subscription
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from simengine.config.validate import build, spec, to_dict
from simengine.plc.certificates import CLIENT_APPLICATION_URI, application_uri_of
from simengine.plc.codec import INT_RANGE
from simengine.plc.opcua_server import VARIANT
from simengine.plc.readings import Quality, QualityAssessor, ReadingBlock, comm_failure
from simengine.plc.secrets import Credentials, redact_passwords
from simengine.results.provenance import redact_url
from simengine.plc.tags import TagMap

log = logging.getLogger(__name__)
# asyncua logs a lost link as a 'Publish iteration crashed' traceback and warnings from the closing
# session; this client reports the loss itself (a gap, COMM_FAILURE, a warning, PlcUnreachable),
# so for a user they are noise that looks like a crash
logging.getLogger("asyncua.client").setLevel(logging.CRITICAL)

SECURE = "Basic256Sha256_SignAndEncrypt"
_REFUSALS = {"BadUserAccessDenied": "wrong user name or password", "BadIdentityTokenInvalid": "wrong user name or password",
             "BadIdentityTokenRejected": "the server does not accept this kind of login (anonymous?)",
             "BadSecurityModeRejected": "the server requires a signed and encrypted channel",
             "BadSecurityPolicyRejected": "the server requires another security policy",
             "BadCertificateUntrusted": "the server does not trust this client's certificate",
             "BadCertificateInvalid": "the server finds this client's certificate invalid",
             "BadCertificateUriInvalid": "the certificate's application URI is not the client's"}


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


@dataclass
class Gap:
    """A link outage: from `start_s` to `end_s` (Unix seconds; None while it lasts)."""

    start_s: float
    end_s: float | None
    reason: str
    link: int


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
        self._links = [_Link(self, k, shard) for k, shard in enumerate(shards)]

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


class _Link:
    """One connection (session) with its subscriptions; reconnects when lost."""

    def __init__(self, owner: OpcUaClient, number: int, tags: np.ndarray):
        self.owner, self.number, self.tags = owner, number, tags
        self.client: Client | None = None
        self.task: asyncio.Task | None = None
        self.lost = asyncio.Event()
        self.reason = ""
        self.subscriptions: list[_TagSubscription] = []
        self.stale_tags = tags[np.isfinite(owner._stale_s[tags])]  # those that can go silent
        self.clock: object = None  # the server's CurrentTime when last read, and since when (monotonic)
        self.clock_since = 0.0
        self.clock_ticks = False  # seen advancing, on any connection of this link
        self.silent_since: float | None = None  # Unix time a silence that lost the link began

    async def open(self) -> None:
        cfg, owner = self.owner.config, self.owner
        self.lost.clear()
        try:
            client = await self._connect()
        except ua.UaStatusCodeError as exc:
            name = type(exc).__name__
            if name not in _REFUSALS:
                raise ConnectionError(f"OPC UA server {owner.url_shown} failed the connection: {name}") from None
            who = f"user {owner.credentials.user!r}" if owner.credentials else "an anonymous login"
            raise PermissionError(f"OPC UA server {owner.url_shown} refused {who}: {name} ({_REFUSALS[name]})") from None
        except ua.UaError as exc:  # no endpoint with this security, or not the pinned server certificate
            if "No matching endpoints" in str(exc):
                raise PermissionError(f"OPC UA server {owner.url_shown} offers no endpoint for security = "
                                      f"{cfg.security!r}: {exc}") from None
            raise PermissionError(f"OPC UA connection to {owner.url_shown} failed a security check: {exc}") from None
        except (OSError, asyncio.TimeoutError) as exc:
            raise ConnectionError(f"cannot reach OPC UA server {owner.url_shown}: {redact_url(repr(exc))}") from None
        self.client = client
        self.clock, self.clock_since = None, time.monotonic()
        chunks = np.array_split(self.tags, max(1, math.ceil(len(self.tags) / cfg.tags_per_subscription)))
        for chunk in chunks:
            sub = _TagSubscription(client.uaclient.session, _subscription_params(cfg, client), self, chunk)
            await sub.init()
            self.subscriptions.append(sub)
            await sub.add_tags()
        owner._last_seen[self.tags] = time.monotonic()  # the server now sends every current value
        owner._silent[self.tags] = False

    async def _connect(self) -> Client:
        cfg, owner = self.owner.config, self.owner
        client = Client(owner.url, timeout=cfg.request_timeout_s, watchdog_intervall=cfg.watchdog_s)
        client.session_timeout = cfg.session_timeout_s * 1000
        client.name = client.description = "simengine twin"
        client.application_uri = CLIENT_APPLICATION_URI
        if cfg.security == SECURE:
            client.application_uri = application_uri_of(cfg.certificate)
            await client.set_security(SecurityPolicyBasic256Sha256, cfg.certificate, cfg.private_key,
                                      server_certificate=cfg.server_certificate)
        if owner.credentials is not None:
            client.set_user(owner.credentials.user)
            client.set_password(owner.credentials.password.reveal())
        client.connection_lost_callback = self._connection_lost
        await client.connect()
        return client

    async def _connection_lost(self, exc: Exception) -> None:
        self.reason = self.reason or f"connection lost: {exc!r}"
        self.lost.set()

    async def supervise(self) -> None:
        cfg = self.owner.config
        while True:
            while not self.lost.is_set():
                try:
                    await asyncio.wait_for(self.lost.wait(), cfg.watchdog_s)
                except asyncio.TimeoutError:
                    await self._check()
            gap = Gap(self.silent_since or time.time(), None, self.reason or "connection lost", self.number)
            self.owner.gaps.append(gap)
            log.warning("OPC UA link %d to %s lost (%s); reconnecting", self.number, self.owner.url_shown, gap.reason)
            self.owner._emit(comm_failure(time.time(), self.tags))  # now: rows before it may be written already
            await self.close()
            delay = cfg.reconnect_initial_s
            while True:
                try:
                    await self.open()
                    break
                except Exception as exc:  # keep trying: the server may come back
                    log.info("OPC UA link %d: reconnect failed (%s); next try in %.1f s", self.number, exc, delay)
                    await self.close()
                    await asyncio.sleep(delay)
                    delay = min(2 * delay, cfg.reconnect_max_s)
            gap.end_s = time.time()
            self.reason, self.silent_since = "", None
            log.warning("OPC UA link %d to %s is back after %.1f s", self.number, self.owner.url_shown, gap.end_s - gap.start_s)

    async def _check(self) -> None:
        """The watchdog tick: silent subscriptions or a stopped server clock mean a lost link;
        else tags silent past their stale limit are flagged."""
        now = time.monotonic()
        for sub in self.subscriptions:
            if now - sub.last_publish > sub.silence_limit_s:
                self.silent_since = time.time() - (now - sub.last_publish)
                self.reason = self.reason or (f"subscription {sub.subscription_id} sent neither data nor keep-alive "
                                              f"for {now - sub.last_publish:.1f} s")
                self.lost.set()
                return
        if await self._server_clock_stopped():
            self.silent_since = time.time() - (time.monotonic() - self.clock_since)
            self.reason = self.reason or (f"the server's clock stood still for {time.monotonic() - self.clock_since:.1f} s"
                                          " (server shutting down?)")
            self.lost.set()
            return
        if len(self.stale_tags):
            self.owner._flag_silent(self.stale_tags)

    async def _server_clock_stopped(self) -> bool:
        client = self.client
        if client is None:
            return False
        try:
            node = client.get_node(ua.NodeId(ua.ObjectIds.Server_ServerStatus_CurrentTime))
            clock = await asyncio.wait_for(node.read_value(), self.owner.config.watchdog_s)
        except Exception:  # a failed read is the health probe's business
            return False
        now = time.monotonic()
        if clock != self.clock:
            if self.clock is not None:  # standing still counts from the connection, advancing from the change
                self.clock_ticks, self.clock_since = True, now
            self.clock = clock
            return False
        return self.clock_ticks and now - self.clock_since > self.owner.config.server_clock_timeout_s

    async def close(self, cancel: bool = False) -> None:
        if cancel and self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        client, self.client = self.client, None
        self.subscriptions = []
        if client is not None:
            client.connection_lost_callback = None
            try:
                await asyncio.wait_for(client.disconnect(), timeout=2.0)
            except Exception:  # the transport is often gone already; only the local teardown matters
                client.disconnect_socket()


class _TagSubscription(Subscription):
    """A subscription over some tags; handles whole notification messages at once."""

    def __init__(self, session, params: ua.CreateSubscriptionParameters, link: _Link, tags: np.ndarray):
        super().__init__(session, params)
        self.link, self.tags, self.last_seq = link, tags, None
        self.last_publish = time.monotonic()  # of the last publish response, data or keep-alive
        self.silence_limit_s = math.inf

    async def init(self) -> ua.CreateSubscriptionResult:
        result = await super().init()
        keepalive_s = result.RevisedPublishingInterval / 1000 * max(1, result.RevisedMaxKeepAliveCount)
        self.silence_limit_s = 1.5 * keepalive_s + 1.0
        self.last_publish = time.monotonic()
        return result

    def is_stale(self, margin: float) -> bool:
        return False  # not asyncua's watchdog: silent subscriptions are found by the link's own, and handled there

    async def add_tags(self) -> None:
        cfg, owner = self.link.owner.config, self.link.owner
        flt = None
        if cfg.notify_on_timestamp:
            flt = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp, DeadbandType=0)
        requests = []
        for tag in self.tags.tolist():
            params = ua.MonitoringParameters(ClientHandle=tag, SamplingInterval=cfg.sampling_interval_ms,
                                             Filter=flt, QueueSize=cfg.queue_size, DiscardOldest=cfg.discard_oldest)
            item = ua.ReadValueId(NodeId=owner.nodeids[tag], AttributeId=ua.AttributeIds.Value)
            requests.append(ua.MonitoredItemCreateRequest(item, ua.MonitoringMode.Reporting, params))
        results = await self.create_monitored_items(requests)
        refused = [(tag, r) for tag, r in zip(self.tags.tolist(), results) if isinstance(r, ua.StatusCode)]
        for tag, status in refused:
            owner.unavailable[owner.tagmap.tags[tag].name] = status.name
        if refused:
            log.warning("OPC UA server %s refused %d tags, e.g. %s", owner.url_shown, len(refused), refused[0][1].name)
            owner._emit(comm_failure(time.time(), np.array([t for t, _ in refused])))

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        self.last_publish = time.monotonic()
        msg = publish_result.NotificationMessage
        if not msg.NotificationData:
            return  # a keep-alive: it carries the next sequence number, not a new one
        if self.last_seq is not None and msg.SequenceNumber > self.last_seq + 1:
            await self._recover(range(self.last_seq + 1, msg.SequenceNumber))
        self.last_seq = max(self.last_seq or 0, msg.SequenceNumber)
        self._handle(msg)

    async def _recover(self, missing: range) -> None:
        lost = 0
        for seq in missing:
            try:
                msg = await self.server.republish(self.subscription_id, seq)
            except Exception:  # BadMessageNotAvailable, or the link went down
                msg = None
            if msg is None or msg.SequenceNumber != seq or not msg.NotificationData:
                lost += 1  # some servers answer with an empty message instead of an error
            else:
                self._handle(msg)
        if lost:
            log.warning("subscription %s lost %d notification messages", self.subscription_id, lost)
            self.link.owner._on_lost_messages(self.tags, lost)

    def _handle(self, msg: ua.NotificationMessage) -> None:
        for data in msg.NotificationData:
            if isinstance(data, ua.DataChangeNotification):
                self.link.owner._on_items(data.MonitoredItems)
            elif isinstance(data, ua.StatusChangeNotification) and not data.Status.is_good():
                self.link.reason = self.link.reason or f"subscription status {data.Status.name}"
                self.link.lost.set()


def _subscription_params(cfg: OpcUaClientConfig, client: Client) -> ua.CreateSubscriptionParameters:
    keepalive = max(1, min(client.get_keepalive_count(cfg.publishing_interval_ms),
                           round(cfg.keepalive_s * 1000 / cfg.publishing_interval_ms)))
    return ua.CreateSubscriptionParameters(
        RequestedPublishingInterval=cfg.publishing_interval_ms, RequestedMaxKeepAliveCount=keepalive,
        RequestedLifetimeCount=max(3 * keepalive, math.ceil(60_000 / cfg.publishing_interval_ms)),
        MaxNotificationsPerPublish=0, PublishingEnabled=True, Priority=0)


def _unix(stamp: datetime | None) -> float:
    if stamp is None:
        return time.time()
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


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
