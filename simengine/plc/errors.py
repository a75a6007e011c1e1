"""A PLC that cannot be recorded from: refused, silent, or unreachable.

`PlcUnreachable` is a ConnectionError (so an OSError: the CLI prints it as
``simengine: <message>`` and exits 2). Its message names the protocol, host
and port and what happened; `describe_silence` tells a closed port from a
listener that never answers by trying one TCP connection.
"""

from __future__ import annotations

import asyncio


class PlcUnreachable(ConnectionError):
    """No reading arrived from a PLC within the first-reading deadline."""

    def __init__(self, protocol: str, host: str, port: int, what: str):
        super().__init__(f"{protocol} {host}:{port}: {what}; nothing recorded")
        self.protocol, self.host, self.port, self.what = protocol, host, port, what


async def describe_silence(host: str, port: int, waited_s: float, timeout_s: float = 1.0) -> str:
    """What a PLC that gave no reading for `waited_s` seconds does when connected to now."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except ConnectionRefusedError:
        return "connection refused (nothing listens on that port)"
    except (OSError, asyncio.TimeoutError) as err:
        return f"cannot connect ({type(err).__name__}: {err or 'timed out'}); no answer within {waited_s:.3g} s"
    writer.close()
    return f"accepts connections but sent no reading within {waited_s:.3g} s"
