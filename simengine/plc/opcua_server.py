"""The OPC UA side of the virtual PLC: an asyncua server that serves a tag map.

One variable node per OPC UA tag (node ids as in the map, typed by the tag's
dtype; ``read`` tags are read-only to clients, ``read_write`` tags writable),
under ``Objects/simengine/asset_<n>/``; until its first `update` a node reads
BadWaitingForInitialData. `update` writes engineering values (raw =
(value - offset) / scale, in the tag's unit) server-side, all with one source
timestamp, without a network round trip per node: 12,000 tags take ~0.15-0.3 s
of one core per update with one subscriber.

Two things asyncua's server leaves out and a twin needs are added here:

- Overflow signalling (OPC 10000-4 §5.12.1.5): when a monitored item's queue
  (size > 1) overflows, the value after the gap carries the Overflow info bit
  in its StatusCode, and the client's DiscardOldest choice is honoured. asyncua
  drops the oldest value without a trace.
- With security on, only Basic256Sha256 SignAndEncrypt endpoints exist, only
  user/password tokens are accepted, and a session on an unsecured channel
  (used for endpoint discovery only) is refused.

Fault injection: `drop_connections`, `freeze`, `stop`/`start`/`restart` on the
same port (`stop` closes the listener before the connections, so no client
stays connected to a stopped server). Binds 127.0.0.1 by default. While a
server runs, the objects alive when it started are exempt from garbage
collection (`gc.freeze`): a full collection over a large address space stalls
the event loop for up to a second.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
import types
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.user_managers import UserManager

from simengine.plc.certificates import SERVER_APPLICATION_URI, application_uri_of
from simengine.plc.codec import INT_RANGE
from simengine.plc.secrets import Credentials
from simengine.plc.tags import Tag, TagMap

VARIANT = {"int16": ua.VariantType.Int16, "uint16": ua.VariantType.UInt16, "int32": ua.VariantType.Int32,
           "uint32": ua.VariantType.UInt32, "float32": ua.VariantType.Float, "float64": ua.VariantType.Double}
OVERFLOW_BITS = 0x480  # InfoType "DataValue" (bit 10) + Overflow (bit 7), OPC 10000-4 §7.39.1
FOLDER_CHUNK = 100  # children per folder: asyncua's add_node is quadratic in siblings
NAMESPACE_URI = "urn:simengine:plc"
_VALUE = ua.AttributeIds.Value


@dataclasses.dataclass(frozen=True)
class ServerSecurity:
    """Basic256Sha256 SignAndEncrypt with user/password; `trusted_clients` is a folder of
    client certificates to accept (None accepts any client certificate)."""

    certificate: Path
    private_key: Path
    users: tuple[Credentials, ...]
    trusted_clients: Path | None = None

    def __post_init__(self):
        if not self.users:
            raise ValueError("users = (): a secure server needs at least one user who may log in")


class OpcUaServer:
    """Serves the OPC UA tags of `tagmap` at `url` (default: the map's endpoint)."""

    def __init__(self, tagmap: TagMap, *, url: str | None = None, security: ServerSecurity | None = None,
                 namespace_uri: str = NAMESPACE_URI):
        self.tagmap = tagmap
        self.tags: tuple[Tag, ...] = tagmap.opcua_tags
        self.url = url or tagmap.endpoint.opcua_url
        self.security = security
        self.namespace_uri = namespace_uri
        self._index = {t.name: i for i, t in enumerate(self.tags)}
        self._nodeids = [ua.NodeId.from_string(t.opcua.node_id) for t in self.tags]
        bad = [t.opcua.node_id for t, n in zip(self.tags, self._nodeids) if n.NamespaceIndex == 0]
        if bad:
            raise ValueError(f"node ids {bad}: namespace 0 belongs to the OPC UA standard; use ns=1 or above")
        self._scale = np.array([t.scale for t in self.tags], float)
        self._offset = np.array([t.offset for t in self.tags], float)
        self._server: Server | None = None
        self._snapshot: list[ua.DataValue] | None = None
        self.frozen = False

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Build the address space and listen; values from before a `stop` are served again."""
        if self._server is not None:
            raise RuntimeError(f"OPC UA server at {self.url} is already running")
        server = await self._build()
        waiting = ua.DataValue(StatusCode=ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData))
        for nodeid, dv in zip(self._nodeids, self._snapshot or [waiting] * len(self._nodeids)):
            await server.iserver.aspace.write_attribute_value(nodeid, _VALUE, dv)
        await server.start()
        self._server = server
        gc.collect()  # the address space lives as long as the server: spare it the collector's full passes,
        gc.freeze()  # which take ~0.5-1 s with 12,000 tags and would stall publishing and health probes

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        self._snapshot = [server.iserver.aspace.read_attribute_value(n, _VALUE) for n in self._nodeids]
        # asyncua closes the connections before the listener: a client that reconnects in between
        # would stay connected to a dead server. Refuse new connections and stop listening first.
        server.iserver.max_connections = 0
        listener = getattr(server.bserver, "_server", None)
        if listener is not None:
            listener.close()
        stopping = asyncio.ensure_future(server.stop())
        await asyncio.wait({stopping}, timeout=2.0)
        while True:  # abort what is left: a connection accepted before the listener closed, or one whose
            for transport in list(server.iserver.asyncio_transports):  # client stopped reading (close() waits)
                transport.abort()
            if stopping.done():
                break
            await asyncio.wait({stopping}, timeout=0.5)
        await stopping
        gc.unfreeze()  # this address space may go now

    async def restart(self, down_s: float = 0.0) -> None:
        """Stop, stay down for `down_s` seconds, start again on the same port."""
        await self.stop()
        await asyncio.sleep(down_s)
        await self.start()

    async def __aenter__(self) -> OpcUaServer:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def drop_connections(self) -> int:
        """Abort every client connection (the server keeps listening); returns how many."""
        transports = list(self._live().iserver.asyncio_transports)
        for transport in transports:
            transport.abort()
        return len(transports)

    def freeze(self, frozen: bool = True) -> None:
        """While frozen, `update` keeps every value as it is but advances its timestamps
        (a stuck sensor: clients see unchanging values and flag them stale)."""
        self.frozen = frozen

    async def update(self, values: Mapping[str, float] | Sequence[float] | np.ndarray,
                     t_s: float | None = None) -> None:
        """Write engineering values: a {tag name: value} mapping, or one value per OPC UA tag
        in map order. `t_s` (Unix seconds, default now) becomes the source timestamp. NaN, Inf
        or out-of-range values of integer tags are served with a Bad status and no value."""
        aspace = self._live().iserver.aspace
        idx, eng = self._resolve(values)
        source = datetime.fromtimestamp(time.time() if t_s is None else t_s, timezone.utc)
        now = datetime.now(timezone.utc)
        raw = (eng - self._offset[idx]) / self._scale[idx]
        for n, (i, r) in enumerate(zip(idx.tolist(), raw.tolist())):
            if self.frozen:
                old = aspace.read_attribute_value(self._nodeids[i], _VALUE)
                dv = ua.DataValue(old.Value, StatusCode=old.StatusCode, SourceTimestamp=source, ServerTimestamp=now)
            else:
                dv = _datavalue(self.tags[i].dtype, r, source, now)
            await aspace.write_attribute_value(self._nodeids[i], _VALUE, dv)
            if n % 1000 == 999:
                await asyncio.sleep(0)  # let publishing and keep-alives through during a large update

    def value(self, name: str) -> float:
        """The engineering value a tag holds now (including what clients wrote); NaN when Bad."""
        i = self._index.get(name)
        if i is None:
            raise KeyError(f"tag {name!r} is not an OPC UA tag of tag map {self.tagmap.name!r}")
        dv = self._live().iserver.aspace.read_attribute_value(self._nodeids[i], _VALUE)
        raw = dv.Value.Value if dv.Value is not None and dv.Value.Value is not None else float("nan")
        return float(raw) * self._scale[i] + self._offset[i]

    def _live(self) -> Server:
        if self._server is None:
            raise RuntimeError(f"OPC UA server at {self.url} is not running; call start() first")
        return self._server

    def _resolve(self, values) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(values, Mapping):
            unknown = sorted(set(values) - set(self._index))
            if unknown:
                raise KeyError(f"tags {unknown} are not OPC UA tags of tag map {self.tagmap.name!r}")
            return np.array([self._index[k] for k in values], int), np.array(list(values.values()), float)
        eng = np.asarray(values, float)
        if eng.shape != (len(self.tags),):
            raise ValueError(f"values has shape {eng.shape}: expected ({len(self.tags)},), one per OPC UA tag")
        return np.arange(len(self.tags)), eng

    async def _build(self) -> Server:
        sec = self.security
        server = Server(user_manager=_PasswordUsers(sec.users) if sec else None)
        await server.init()
        server.set_endpoint(self.url)
        server.set_server_name("simengine virtual PLC")
        await server.set_application_uri(application_uri_of(sec.certificate) if sec else SERVER_APPLICATION_URI)
        if sec:
            await server.load_certificate(str(sec.certificate))
            await server.load_private_key(str(sec.private_key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
            server.set_identity_tokens([ua.UserNameIdentityToken])
            _refuse_unsecured_sessions(server)
            if sec.trusted_clients is not None:
                store = TrustStore([Path(sec.trusted_clients)], [])
                await store.load()
                server.set_certificate_validator(CertificateValidator(
                    CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT, store))
        else:
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
            server.set_identity_tokens([ua.AnonymousIdentityToken])
        for k in range(2, max([n.NamespaceIndex for n in self._nodeids], default=1) + 1):
            await server.register_namespace(self.namespace_uri if k == 2 else f"{self.namespace_uri}:ns{k}")
        await self._add_nodes(server)
        _signal_overflows(server)
        return server

    async def _add_nodes(self, server: Server) -> None:
        root = await server.nodes.objects.add_folder(ua.NodeId("simengine", 1), "simengine")
        folders: dict[tuple[int, int], ua.NodeId] = {}
        counts: dict[int, int] = {}
        items = []
        for tag, nodeid in zip(self.tags, self._nodeids):
            part = counts.get(tag.asset, 0) // FOLDER_CHUNK
            counts[tag.asset] = counts.get(tag.asset, 0) + 1
            if (tag.asset, part) not in folders:
                name = f"asset_{tag.asset}" + (f"_part{part}" if part else "")
                folders[(tag.asset, part)] = (await root.add_folder(ua.NodeId(f"simengine/{name}", 1), name)).nodeid
            items.append(_variable_item(tag, nodeid, folders[(tag.asset, part)]))
        results = await server.iserver.isession.add_nodes(items)
        failed = [f"{t.opcua.node_id} ({r.StatusCode.name})" for t, r in zip(self.tags, results) if not r.StatusCode.is_good()]
        if failed:
            raise ValueError(f"could not create OPC UA nodes: {', '.join(failed)}")


def _variable_item(tag: Tag, nodeid: ua.NodeId, parent: ua.NodeId) -> ua.AddNodesItem:
    access = ua.AccessLevel.CurrentRead.mask | (ua.AccessLevel.CurrentWrite.mask if tag.access == "read_write" else 0)
    attrs = ua.VariableAttributes()
    attrs.DisplayName = ua.LocalizedText(tag.name)
    attrs.Description = ua.LocalizedText(f"{tag.quantity} [{tag.unit}] = raw * {tag.scale} + {tag.offset}")
    attrs.DataType = ua.NodeId(VARIANT[tag.dtype].value)  # built-in type ids equal their DataType node ids
    attrs.Value = ua.Variant(0.0 if tag.dtype.startswith("float") else 0, VARIANT[tag.dtype])
    attrs.ValueRank = ua.ValueRank.Scalar
    attrs.AccessLevel = attrs.UserAccessLevel = access
    item = ua.AddNodesItem()
    item.RequestedNewNodeId = nodeid
    item.BrowseName = ua.QualifiedName(tag.name, nodeid.NamespaceIndex)
    item.NodeClass = ua.NodeClass.Variable
    item.ParentNodeId = parent
    item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HasComponent)
    item.TypeDefinition = ua.NodeId(ua.ObjectIds.BaseDataVariableType)
    item.NodeAttributes = attrs
    return item


def _datavalue(dtype: str, raw: float, source: datetime, now: datetime) -> ua.DataValue:
    status = ua.StatusCode()
    if dtype in INT_RANGE:
        lo, hi = INT_RANGE[dtype]
        if raw != raw or raw in (float("inf"), float("-inf")):
            status = ua.StatusCode(ua.StatusCodes.BadSensorFailure)
        elif not lo <= round(raw) <= hi:
            status = ua.StatusCode(ua.StatusCodes.BadOutOfRange)
        else:
            raw = int(round(raw))
    value = ua.Variant(raw, VARIANT[dtype]) if status.is_good() else ua.Variant()
    return ua.DataValue(value, StatusCode=status, SourceTimestamp=source, ServerTimestamp=now)


class _PasswordUsers(UserManager):
    """Accepts exactly the configured user/password pairs."""

    def __init__(self, users: tuple[Credentials, ...]):
        self._users = users

    def get_user(self, iserver, username=None, password=None, certificate=None) -> User | None:
        if any(c.matches(username, password) for c in self._users):
            return User(role=UserRole.User, name=username)
        return None


def _refuse_unsecured_sessions(server: Server) -> None:
    """A session must live on a signed-and-encrypted channel, never on the unsecured one
    that clients open for endpoint discovery (that channel carries no peer certificate)."""
    iserver = server.iserver
    create_session = iserver.create_session

    def create_secured_session(*args, **kwargs):
        session = create_session(*args, **kwargs)
        activate = session.activate_session

        def activate_session(params, peer_certificate):
            if not peer_certificate:  # b"" on an unsecured channel
                raise ServiceError(ua.StatusCodes.BadSecurityModeRejected)
            return activate(params, peer_certificate)

        session.activate_session = activate_session
        return session

    iserver.create_session = create_secured_session


def _signal_overflows(server: Server) -> None:
    """Give every subscription this server creates queues that flag overflows (and cheaper values)."""
    service = server.iserver.subscription_service
    create_subscription = service.create_subscription

    async def create_flagging_subscription(*args, **kwargs):
        result = await create_subscription(*args, **kwargs)
        isub = service.subscriptions.get(result.SubscriptionId)
        if isub is not None:
            _flag_overflows(isub)
        return result

    service.create_subscription = create_flagging_subscription


def _flag_overflows(isub) -> None:
    discard_oldest: dict[int, bool] = {}
    items = isub.monitored_item_srv
    create_items, enqueue = items.create_monitored_items, isub._enqueue_event

    async def create_monitored_items(params):
        results = await create_items(params)
        for request, result in zip(params.ItemsToCreate, results):
            discard_oldest[result.MonitoredItemId] = bool(request.RequestedParameters.DiscardOldest)
            mdata = items._monitored_items.get(result.MonitoredItemId)
            if mdata is not None:
                mdata.mvalue.set_current_datavalue = types.MethodType(_keep_reference, mdata.mvalue)
        return results

    async def enqueue_flagging(mid, notification, size, queue):
        pending = queue.get(mid)
        if queue is not isub._triggered_datachanges or pending is None or size == 0 or len(pending) < size:
            return await enqueue(mid, notification, size, queue)
        if size == 1:  # a queue of one holds the newest value, by definition (§5.12.1.5)
            pending[0] = notification
        elif discard_oldest.get(mid, True):
            pending.pop(0)
            pending[0] = _with_overflow(pending[0])
            pending.append(notification)
        else:
            pending[-1] = _with_overflow(notification)

    items.create_monitored_items = create_monitored_items
    isub._enqueue_event = enqueue_flagging


def _keep_reference(values, value: ua.DataValue) -> None:
    """asyncua deep-copies every value for every monitored item, half the cost of an update;
    the values written here are fresh objects that nothing mutates, so a reference will do."""
    values.old_dvalue, values.current_dvalue = values.current_dvalue, value


def _with_overflow(notification: ua.MonitoredItemNotification) -> ua.MonitoredItemNotification:
    dv = notification.Value
    code = ua.StatusCode((dv.StatusCode.value if dv.StatusCode else 0) | OVERFLOW_BITS)
    return ua.MonitoredItemNotification(ClientHandle=notification.ClientHandle,
                                        Value=dataclasses.replace(dv, StatusCode=code))
