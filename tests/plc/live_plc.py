"""Test helpers: the virtual PLC served in a background thread, and a TCP listener that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

from pace import wait_until

from simengine.config import build
from simengine.config.plc import ServeConfig
from simengine.plc.service import serve, servers_for


@contextlib.contextmanager
def served(source, **serve_fields):
    """Serve `source` over Modbus (port 0: any free one) in a thread; yields the list of servers."""
    cfg = build(ServeConfig, {"protocols": ["modbus"], "modbus_port": 0, "rate_hz": 10.0, "duration_s": 60.0,
                              **serve_fields})
    servers = servers_for(source.tagmap(), cfg)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run():
        task = asyncio.create_task(serve(source, cfg, servers=servers, log=lambda *_: None))
        await asyncio.wait((task, asyncio.ensure_future(stop.wait())), return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        wait_until(lambda: all(s.running for s in servers), 10.0, what="the virtual PLC to listen")
        yield servers
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


@contextlib.contextmanager
def silent_listener():
    """A TCP port on 127.0.0.1 that accepts connections and never answers; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept():
        sock.settimeout(0.1)
        while not done.is_set():
            with contextlib.suppress(OSError):
                accepted.append(sock.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        done.set()
        thread.join()
        for conn in accepted:
            conn.close()
        sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
