"""The Modbus TCP side of simengine's virtual PLC.

A pymodbus TCP server (the SimDevice API of pymodbus 3.16, not the
deprecated datastore) bound to 127.0.0.1 by default, holding one image of
holding and one of input registers sized to the tag map. Whoever drives the
PLC (the physics, say once a second) calls `update` with engineering values;
clients read them. Clients may write only the registers of holding tags
whose access is "read_write": any other write gets an ILLEGAL_ADDRESS
exception response.

Fault injection: `drop_connections()` cuts every client link, `freeze(True)`
stops values from updating, `stop()`/`start()` take the server down and back
up on the same port (register values survive, as in a PLC with retained
memory). NaN and out-of-range values are injected through `update` itself.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Mapping

import numpy as np
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from simengine.plc.codec import TagCodec, decode_tag
from simengine.plc.tags import REGISTER_WIDTH, TagMap

# pymodbus logs each failed listen and dropped client itself; the server's caller reports them
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

_INPUT_FC = 4  # read input registers; every other register function code addresses holding registers


class ModbusServer:
    """A Modbus TCP server for the Modbus tags of `tagmap`.

    host/port/device_id default to the map's endpoint; port 0 binds a free
    port, kept across restarts (see `port` once started). Use as
    ``async with ModbusServer(m) as srv: ...`` or call `start`/`stop`.
    """

    def __init__(self, tagmap: TagMap, *, host: str | None = None, port: int | None = None,
                 device_id: int | None = None):
        self.tagmap = tagmap
        self.host = tagmap.endpoint.host if host is None else host
        self.port = tagmap.endpoint.modbus_port if port is None else port
        self.device_id = tagmap.endpoint.device_id if device_id is None else device_id
        self.tag_index = np.array([i for i, t in enumerate(tagmap.tags) if t.modbus is not None], np.intp)
        self.codec = TagCodec([tagmap.tags[i] for i in self.tag_index])
        self.images = {reg: np.zeros(max(n, 1), np.uint16) for reg, n in self.codec.image_size.items()}
        self.writable = np.zeros(self.images["holding"].size, bool)
        for t in self.codec.tags:
            if t.access == "read_write" and t.modbus.register == "holding":
                self.writable[t.modbus.address:t.modbus.address + REGISTER_WIDTH[t.dtype]] = True
        self.frozen = False
        self.writes_received = 0
        self._server: ModbusTcpServer | None = None

    # -- life cycle ---------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Listen on host:port (a first start on port 0 picks a free port and keeps it)."""
        if self._server is not None:
            raise RuntimeError(f"Modbus server on {self.host}:{self.port} is already running")
        server = ModbusTcpServer(self._device(), address=(self.host, self.port))
        try:
            await server.serve_forever(background=True)
        except RuntimeError:  # pymodbus hides the bind error behind "Could not start listen"
            raise OSError(errno.EADDRINUSE, f"Modbus server cannot listen on {self.host}:{self.port} "
                                            "(the port is in use, or the address is not this machine's)") from None
        self._server = server
        if self.port == 0:
            self.port = server.transport.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every client link; register values are kept."""
        if self._server is not None:
            server, self._server = self._server, None
            await server.shutdown()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def __aenter__(self) -> ModbusServer:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    def _device(self) -> SimDevice:
        bit = [SimData(0, count=16, values=False, datatype=DataType.BITS)]  # unused coils / discrete inputs
        holding = _register_blocks(~self.writable)
        inputs = _register_blocks(np.ones(self.images["input"].size, bool))
        return SimDevice(id=self.device_id, simdata=(bit, list(bit), holding, inputs), action=self._action)

    async def _action(self, function_code: int, start_address: int, address: int, count: int,
                      registers: list[int], set_values: list[int] | list[bool] | None) -> None:
        """pymodbus hook, called after its own checks (address valid, register writable)."""
        image = self.images["input" if function_code == _INPUT_FC else "holding"]
        if set_values is None:
            offset = address - start_address
            registers[offset:offset + count] = image[address:address + count].tolist()
        else:
            image[address:address + len(set_values)] = set_values
            self.writes_received += 1

    # -- fault injection ------------------------------------------------------

    def drop_connections(self) -> int:
        """Close every client link now (the listener stays up); returns how many were closed."""
        if self._server is None:
            return 0
        links = list(self._server.active_connections.values())
        for link in links:
            link.close()
        return len(links)

    def freeze(self, frozen: bool = True) -> None:
        """While frozen, `update` changes nothing: clients keep reading the last values."""
        self.frozen = bool(frozen)

    # -- values ---------------------------------------------------------------

    def update(self, values: np.ndarray | Mapping[int, float], t_s: float | None = None) -> np.ndarray | None:
        """Encode engineering values into the registers.

        values: an array over all tags of the map (len(tagmap.tags), in the
        tags' units; non-Modbus tags are ignored) or a mapping tag index ->
        value for a subset (`t_s` is ignored: Modbus carries no time stamps). NaN/Inf and out-of-range values are served as
        given where the type can hold them (fault injection); integers are
        rounded and clipped. Returns the tag indices whose value was clipped,
        or None when frozen (nothing changed).
        """
        if self.frozen:
            return None
        full = np.full(len(self.tagmap.tags), np.nan)
        which = np.zeros(len(self.tagmap.tags), bool)
        if isinstance(values, Mapping):
            idx = np.fromiter(values.keys(), np.intp, len(values))
            full[idx] = np.fromiter(values.values(), float, len(values))
            which[idx] = True
        else:
            full = np.asarray(values, float).reshape(-1)
            if full.size != len(self.tagmap.tags):
                raise ValueError(f"update got {full.size} values; tag map {self.tagmap.name!r} has {len(self.tagmap.tags)} tags")
            which[:] = True
        clipped = self.codec.encode_into(full[self.tag_index], self.images, which[self.tag_index])
        return self.tag_index[clipped]

    def value(self, tag_name: str) -> float:
        """Engineering value the server holds now for `tag_name` (e.g. a setpoint a client wrote)."""
        tag = self.tagmap.by_name(tag_name)
        if tag.modbus is None:
            raise KeyError(f"tag {tag_name!r} has no modbus address")
        a = tag.modbus.address
        return decode_tag(tag, self.images[tag.modbus.register][a:a + REGISTER_WIDTH[tag.dtype]])

    def values(self) -> np.ndarray:
        """Engineering values of all tags (NaN for tags without a Modbus address)."""
        out = np.full(len(self.tagmap.tags), np.nan)
        out[self.tag_index] = self.codec.decode(self.images)
        return out


def _register_blocks(readonly: np.ndarray) -> list[SimData]:
    """SimData blocks covering addresses 0..len-1, one per run of equal writability."""
    edges = np.flatnonzero(np.diff(readonly.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    ends = np.concatenate([edges, [readonly.size]])
    return [SimData(int(a), count=int(b - a), values=0, datatype=DataType.REGISTERS, readonly=bool(readonly[a]))
            for a, b in zip(starts, ends)]
