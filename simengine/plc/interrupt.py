"""Running a PLC loop so that one Ctrl-C always ends it.

`asyncio.run` answers the first Ctrl-C by cancelling the main task once. A
cancellation can be lost on its way down: Python 3.11's `asyncio.wait_for`
drops one that lands as its inner await completes (a race a busy machine
makes likely, and client libraries use `wait_for` for every request), and
the loop then runs to its end, an hour of polling later. `run_interruptible`
keeps cancelling until the task has ended, and raises KeyboardInterrupt
however the task ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

RECANCEL_S = 0.2  # how soon a cancellation that was lost is sent again


def run_interruptible(coro):
    """`asyncio.run(coro)`, where Ctrl-C (SIGINT) ends the run with KeyboardInterrupt."""
    return asyncio.run(_until_interrupted(coro))


async def _until_interrupted(coro):
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(coro)
    interrupted = False

    def cancel_until_done() -> None:
        nonlocal interrupted
        interrupted = True
        if not task.done():
            task.cancel()
            loop.call_later(RECANCEL_S, cancel_until_done)

    try:
        loop.add_signal_handler(signal.SIGINT, cancel_until_done)
        handled = True
    except (RuntimeError, ValueError, NotImplementedError):  # not the main thread, or no signals here
        handled = False
    try:
        result = await task
    except asyncio.CancelledError:
        if interrupted:
            raise KeyboardInterrupt from None
        raise
    finally:
        if handled:
            with contextlib.suppress(RuntimeError, ValueError):
                loop.remove_signal_handler(signal.SIGINT)
    if interrupted:  # the task swallowed every cancellation and finished: Ctrl-C still means stop
        raise KeyboardInterrupt
    return result
