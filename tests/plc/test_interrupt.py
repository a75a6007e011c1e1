"""One Ctrl-C ends a PLC loop, even when a cancellation is lost on its way down."""

import asyncio
import os
import signal
import threading
import time

import pytest
from pace import deadline

from simengine.plc.interrupt import run_interruptible


async def swallows_one_cancellation():
    """As Python 3.11's asyncio.wait_for does when the cancellation lands as its inner await completes."""
    for _ in range(2):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            pass
    return "ran to the end"


def ctrl_c_soon(after_s: float = 0.3) -> None:
    threading.Timer(after_s, os.kill, (os.getpid(), signal.SIGINT)).start()


def test_one_ctrl_c_ends_a_loop_that_loses_a_cancellation():
    ctrl_c_soon()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(swallows_one_cancellation())
    assert time.monotonic() - start < deadline(5.0)  # not the 30 s the loop would go on for


def test_a_loop_that_ends_normally_after_ctrl_c_still_counts_as_interrupted():
    async def finishes_anyway():
        for _ in range(50):
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                pass  # swallows every cancellation
        return "done"

    ctrl_c_soon(0.05)
    with pytest.raises(KeyboardInterrupt):
        run_interruptible(finishes_anyway())


def test_without_ctrl_c_the_result_comes_back():
    async def answer():
        await asyncio.sleep(0)
        return 42

    assert run_interruptible(answer()) == 42
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
