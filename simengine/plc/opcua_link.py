"""One OPC UA connection (session) of an `OpcUaClient`: log in, subscribe, watch, reconnect.

A link is lost when its transport closes, the health probe fails, a
subscription sends neither data nor keep-alive for 1.5 keep-alive periods
(+ 1 s), or the server's clock (ServerStatus.CurrentTime), once seen
advancing, stands still for `server_clock_timeout_s`: a server that is
shutting down can accept a connection and answer it without ever publishing
a value again. A lost link emits a COMM_FAILURE block for its tags, is
reconnected with capped exponential backoff, and its subscriptions are
created again (the server then sends current values); each outage is a
`Gap`. Between checks the watchdog flags tags silent past their
`stale_after_s`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from simengine.plc.certificates import CLIENT_APPLICATION_URI, application_uri_of
from simengine.plc.opcua_subscriptions import TagSubscription, subscription_params
from simengine.plc.readings import comm_failure
from simengine.results.provenance import redact_url

if TYPE_CHECKING:
    from simengine.plc.opcua_client import OpcUaClient

log = logging.getLogger(__name__)

SECURE = "Basic256Sha256_SignAndEncrypt"
_REFUSALS = {"BadUserAccessDenied": "wrong user name or password", "BadIdentityTokenInvalid": "wrong user name or password",
             "BadIdentityTokenRejected": "the server does not accept this kind of login (anonymous?)",
             "BadSecurityModeRejected": "the server requires a signed and encrypted channel",
             "BadSecurityPolicyRejected": "the server requires another security policy",
             "BadCertificateUntrusted": "the server does not trust this client's certificate",
             "BadCertificateInvalid": "the server finds this client's certificate invalid",
             "BadCertificateUriInvalid": "the certificate's application URI is not the client's"}


@dataclass
class Gap:
    """A link outage: from `start_s` to `end_s` (Unix seconds; None while it lasts)."""

    start_s: float
    end_s: float | None
    reason: str
    link: int


class Link:
    """One connection (session) with its subscriptions; reconnects when lost."""

    def __init__(self, owner: OpcUaClient, number: int, tags: np.ndarray):
        self.owner, self.number, self.tags = owner, number, tags
        self.client: Client | None = None
        self.task: asyncio.Task | None = None
        self.lost = asyncio.Event()
        self.reason = ""
        self.subscriptions: list[TagSubscription] = []
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
            sub = TagSubscription(client.uaclient.session, subscription_params(cfg, client), self, chunk)
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
