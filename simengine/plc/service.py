"""Serving a source of readings and recording a PLC: the loops behind `simengine plc`.

`serve` steps a source at `rate_hz` of wall time (each step is
time_factor/rate_hz simulated seconds) and publishes the values on every
chosen protocol, applying the configured faults. The source is handed in
(`simengine plc serve` hands it the virtual PLC, `simengine.virtual_plc`): this
module, like all of `simengine.plc`, is protocol I/O and builds no simulation.
`record` polls (Modbus) or subscribes (OPC UA) and appends every block to a
crash-safe HDF5 recording, gaps included. A PLC that gives no reading within
the first-reading deadline raises `PlcUnreachable` and a map whose first
readings show the wrong word order is refused (`first_readings.py`); either
way no file is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
import time
from pathlib import Path

import numpy as np

from simengine.config.plc import FaultConfig, RecordConfig, ServeConfig
from simengine.config.validate import ConfigError
from simengine.plc.errors import PlcUnreachable
from simengine.plc.first_readings import FirstReadings
from simengine.plc.recorder import Recorder
from simengine.plc.tags import TagMap


def faulted(values: np.ndarray, tagmap: TagMap, faults: tuple[FaultConfig, ...], elapsed_s: float) -> np.ndarray:
    """Values with the value faults active at `elapsed_s` applied (NaN, out of range)."""
    out = values
    for f in faults:
        if f.kind in ("nan", "out_of_range") and f.at_s <= elapsed_s < f.at_s + f.duration_s:
            idx = tag_indices(tagmap, f.tags)
            out = out.copy()
            out[idx] = np.nan if f.kind == "nan" else 1e6 * np.sign(out[idx] + 1e-300)
    return out


def tag_indices(tagmap: TagMap, names: tuple[str, ...]) -> np.ndarray:
    if not names:
        return np.arange(len(tagmap.tags))
    index = {t.name: i for i, t in enumerate(tagmap.tags)}
    missing = [n for n in names if n not in index]
    if missing:
        raise ValueError(f"fault tags {missing}: not in tag map {tagmap.name!r}")
    return np.array([index[n] for n in names])


async def serve(source, cfg: ServeConfig, *, servers: list, log=print) -> int:
    """Publish `source` (an object with ``tagmap() -> TagMap`` and ``step(dt_s) -> values``, one per tag) on
    `servers` (objects with start/stop/update/freeze/drop_connections/restart)."""
    tagmap = source.tagmap()
    for s in servers:
        await s.start()
    log(f"serving {len(tagmap.tags)} tags of assets {list(cfg.assets)} on {cfg.host}: "
        + ", ".join(getattr(s, "describe", lambda: type(s).__name__)() for s in servers))
    period = 1.0 / cfg.rate_hz
    dt_sim = cfg.time_factor * period
    loop = asyncio.get_running_loop()
    t0, wall0 = loop.time(), time.time()
    k = 0
    active: set[int] = set()
    try:
        while cfg.duration_s is None or k * period < cfg.duration_s:
            elapsed = k * period
            await _apply_state_faults(servers, cfg.faults, elapsed, active)
            values = faulted(source.step(dt_sim), tagmap, cfg.faults, elapsed)
            stamp = wall0 + elapsed  # the scan's scheduled time, as a PLC stamps its scan (even when we run late)
            for s in servers:
                if s.running and inspect.isawaitable(done := s.update(values, t_s=stamp)):
                    await done
            k += 1
            await asyncio.sleep(max(0.0, t0 + k * period - loop.time()))
    finally:
        for s in servers:
            await s.stop()
    return k


async def _apply_state_faults(servers, faults, elapsed_s: float, active: set[int]) -> None:
    for i, f in enumerate(faults):
        on = f.at_s <= elapsed_s < f.at_s + f.duration_s
        if on and i not in active:
            active.add(i)
            for s in servers:
                if f.kind == "drop":
                    s.drop_connections()
                elif f.kind == "freeze":
                    s.freeze(True)
                elif f.kind == "restart":
                    await s.stop()
        elif not on and i in active:
            active.discard(i)
            for s in servers:
                if f.kind == "freeze":
                    s.freeze(False)
                elif f.kind == "restart":
                    await s.start()


class _GapSync:
    """Copies a client's gaps into the recording as they open and close (crash-safe)."""

    def __init__(self, rec: Recorder):
        self.rec = rec
        self._written: list[tuple[int, bool]] = []  # (recording index, closed)

    def sync(self, gaps) -> None:
        for k, gap in enumerate(gaps):
            end = gap.end_s
            if k == len(self._written):
                self._written.append((self.rec.open_gap(gap.start_s, gap.reason), False))
            index, closed = self._written[k]
            if not closed and end is not None:
                self.rec.close_gap(index, end)
                self._written[k] = (index, True)

    def close_open(self, end_s: float) -> None:
        for k, (index, closed) in enumerate(self._written):
            if not closed:
                self.rec.close_gap(index, end_s)
                self._written[k] = (index, True)


async def _keep_flushing(rec: Recorder, client, gaps: _GapSync, period_s: float) -> None:
    while True:
        await asyncio.sleep(period_s)
        gaps.sync(client.gaps)
        rec.tick()


def _warn(message: str) -> None:
    print(f"simengine: warning: {message}", file=sys.stderr)


async def record_modbus(tagmap: TagMap, cfg: RecordConfig, path: Path, config: dict, *, on_rows=None,
                        log=_warn, progress=None, fields: str = "record.") -> Recorder:
    """Poll the map's Modbus tags for cfg.duration_s into a recording at `path`.

    Raises `PlcUnreachable` (no file left) when no reading arrives within the first-reading
    deadline, and ConfigError when the first polls show the map's word order is wrong
    (`record.plausibility`); `log` gets the warning for other implausible tags. `fields` is how
    the calling command names its settings in messages (``record.`` for `simengine plc record`).
    """
    from simengine.plc.modbus_client import ModbusClient

    client = ModbusClient(tagmap, host=cfg.host, port=cfg.port)
    watch = FirstReadings(tagmap, cfg, "modbus", client.host, client.port, polls_s=1.0 / cfg.rate_hz,
                          last_failure=lambda: client.last_failure, fields=fields)
    with Recorder(path, tagmap, flush_interval_s=cfg.flush_interval_s, source="modbus", config=config,
                  on_rows=on_rows) as rec:
        gaps = _GapSync(rec)
        sink = watch.sink(rec.append, progress)
        async with _discarded_on_failure(rec):
            async with client:
                timer = asyncio.create_task(_keep_flushing(rec, client, gaps, cfg.flush_interval_s))
                try:
                    await watch.supervise(client.run(cfg.rate_hz, cfg.duration_s, sink=sink), log)
                finally:
                    timer.cancel()
            gaps.sync(client.gaps)  # closing the client closes a gap still open
    return rec


async def record_opcua(tagmap: TagMap, cfg: RecordConfig, path: Path, config: dict, *, credentials=None,
                       client_config=None, on_rows=None, log=_warn, progress=None,
                       fields: str = "record.") -> Recorder:
    """Subscribe to every OPC UA tag for cfg.duration_s and record each notification block
    (failing fast and checking plausibility as `record_modbus` does)."""
    from urllib.parse import urlsplit

    from simengine.plc.opcua_client import OpcUaClient

    url = None if cfg.host is None and cfg.port is None else _opcua_url(tagmap, cfg)
    client_config = client_config or secure_client_config(cfg, url)
    where = urlsplit(client_config.url or tagmap.endpoint.opcua_url)
    # one update reaches us as one block per subscription, within a publishing interval or so
    reorder_s = 2.0 * client_config.publishing_interval_ms / 1000.0
    watch = FirstReadings(tagmap, cfg, "opcua", where.hostname or "?", where.port or 4840,
                          polls_s=max(1.0 / cfg.rate_hz, reorder_s), fields=fields)
    with Recorder(path, tagmap, flush_interval_s=cfg.flush_interval_s, source="opcua", config=config,
                  reorder_s=reorder_s, on_rows=on_rows) as rec:
        gaps = _GapSync(rec)
        client = OpcUaClient(tagmap, client_config, credentials=credentials, on_block=watch.sink(rec.append, progress))

        async def subscribed() -> None:
            await client.start()
            timer = asyncio.create_task(_keep_flushing(rec, client, gaps, cfg.flush_interval_s))
            try:
                await asyncio.sleep(cfg.duration_s)
            finally:
                timer.cancel()

        async with _discarded_on_failure(rec):
            try:
                await watch.supervise(subscribed(), log)
            finally:
                await client.stop()
            gaps.sync(client.gaps)
            gaps.close_open(time.time())  # an outage still open when the recording ends
    return rec


@contextlib.asynccontextmanager
async def _discarded_on_failure(rec: Recorder):
    """Removes the recording when the work inside fails before a row was written, or fails because
    the PLC never answered or the map decodes garbage (then its rows are worthless)."""
    try:
        yield
    except BaseException as err:
        if rec.rows_written == 0 or isinstance(err, (PlcUnreachable, ConfigError)):
            rec.discard()
        raise


def _opcua_url(tagmap: TagMap, cfg: RecordConfig) -> str:
    """The map's OPC UA URL with host and port replaced as asked (its path kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(tagmap.endpoint.opcua_url)
    host = cfg.host or parts.hostname or "127.0.0.1"
    port = cfg.port or parts.port or 4840
    return urlunsplit((parts.scheme, f"{host}:{port}", parts.path, parts.query, parts.fragment))


def _certificate(directory: str, application_uri: str):
    """The certificate pair in `directory` for this application, made on first use."""
    from simengine.plc.certificates import make_certificate

    name = application_uri.rsplit(":", 1)[-1]
    der, key = Path(directory) / f"{name}.der", Path(directory) / f"{name}_key.pem"
    if der.exists() and key.exists():
        return der, key
    pair = make_certificate(directory, application_uri)
    return pair.certificate, pair.private_key


def secure_client_config(cfg: RecordConfig, url: str | None):
    """The OPC UA client configuration of a recording, secure when asked."""
    from simengine.plc.certificates import CLIENT_APPLICATION_URI
    from simengine.plc.opcua_client import SECURE, OpcUaClientConfig

    if not cfg.opcua_secure:
        return OpcUaClientConfig(url=url)
    cert, key = _certificate(cfg.certificate_dir, CLIENT_APPLICATION_URI)
    return OpcUaClientConfig(url=url, security=SECURE, certificate=str(cert), private_key=str(key))


def port_problems(cfg: ServeConfig) -> list:
    """A Problem for each port of `cfg` that another program already listens on (cfg.host)."""
    import errno
    import socket

    from simengine.config.validate import Problem

    problems = []
    for protocol, field, port in (("modbus", "serve.modbus_port", cfg.modbus_port),
                                  ("opcua", "serve.opcua_port", cfg.opcua_port)):
        if protocol not in cfg.protocols or port == 0:
            continue
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio's servers do
            try:
                sock.bind((cfg.host, port))
            except OSError as err:
                why = "already in use (another server listens there)" if err.errno == errno.EADDRINUSE else err.strerror
                problems.append(Problem(field, port, f"cannot listen on {cfg.host}:{port}: {why}; "
                                                     "choose another port or stop the other server"))
    return problems


def servers_for(tagmap: TagMap, cfg: ServeConfig) -> list:
    """The protocol servers of the virtual PLC, bound to cfg.host (loopback by default)."""
    servers = []
    if "modbus" in cfg.protocols:
        from simengine.plc.modbus_server import ModbusServer

        servers.append(ModbusServer(tagmap, host=cfg.host, port=cfg.modbus_port))
    if "opcua" in cfg.protocols:
        from simengine.plc.opcua_server import OpcUaServer

        security = None
        if cfg.opcua_secure:
            from simengine.plc.certificates import SERVER_APPLICATION_URI
            from simengine.plc.opcua_server import ServerSecurity
            from simengine.plc.secrets import load_credentials

            users = load_credentials(cfg.credentials_file or None)
            if users is None:
                raise ValueError("serve.opcua_secure needs a user: set SIMENGINE_OPCUA_USER and "
                                 "SIMENGINE_OPCUA_PASSWORD, or serve.credentials_file")
            cert, key = _certificate(cfg.certificate_dir, SERVER_APPLICATION_URI)
            security = ServerSecurity(certificate=cert, private_key=key, users=(users,))
        servers.append(OpcUaServer(tagmap, url=f"opc.tcp://{cfg.host}:{cfg.opcua_port}/simengine/", security=security))
    return servers
