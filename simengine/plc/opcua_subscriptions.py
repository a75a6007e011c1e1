"""An OPC UA subscription over some of a link's tags, handling whole notification messages at once.

Each monitored item has an explicit queue (`queue_size` >= 2: a queue of one
coalesces values without a trace, OPC 10000-4 §5.12.1.5) and overflow policy
(`discard_oldest`). Notification messages are numbered per subscription; a
gap in the numbers is filled by Republish where the server still holds the
message, else the client is told how many were lost. Whole messages go to
the client, which turns them into arrays (not one callback per value).
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

import numpy as np
from asyncua import Client, ua
from asyncua.common.subscription import Subscription

from simengine.plc.readings import comm_failure

if TYPE_CHECKING:
    from simengine.plc.opcua_client import OpcUaClientConfig
    from simengine.plc.opcua_link import Link

log = logging.getLogger(__name__)


class TagSubscription(Subscription):
    """A subscription over some tags; handles whole notification messages at once."""

    def __init__(self, session, params: ua.CreateSubscriptionParameters, link: Link, tags: np.ndarray):
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


def subscription_params(cfg: OpcUaClientConfig, client: Client) -> ua.CreateSubscriptionParameters:
    keepalive = max(1, min(client.get_keepalive_count(cfg.publishing_interval_ms),
                           round(cfg.keepalive_s * 1000 / cfg.publishing_interval_ms)))
    return ua.CreateSubscriptionParameters(
        RequestedPublishingInterval=cfg.publishing_interval_ms, RequestedMaxKeepAliveCount=keepalive,
        RequestedLifetimeCount=max(3 * keepalive, math.ceil(60_000 / cfg.publishing_interval_ms)),
        MaxNotificationsPerPublish=0, PublishingEnabled=True, Priority=0)
