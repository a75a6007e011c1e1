"""How fast this machine runs right now, so a test's deadlines scale with it.

A test that waits for something to happen (a server to listen, a value to
arrive, a link to come back) waits for the event itself and gives up only
after ``deadline(s)``: ``s`` is what the wait takes on a quiet 2-core machine
with a margin, stretched by how much slower the machine runs now. Other work
on the machine (a CI neighbour, CPU burners) makes waits longer, never a
test fail.

The slowdown is the larger of two measures, refreshed at most every few
seconds: how much longer a fixed pure-Python workload takes than it does on a
quiet machine, and the 1-minute load average per core. ``SIMENGINE_TEST_PACE``
(a number >= 1) overrides both.
"""

from __future__ import annotations

import os
import time

# The fixed workload's time on a quiet 2-core development machine (Dec 2026).
_QUIET_WORKLOAD_S = 0.009
_REFRESH_S = 5.0
_last: tuple[float, float] | None = None  # (measured at, slowdown)


def _workload_s() -> float:
    start = time.perf_counter()
    total = 0
    for i in range(200_000):
        total += i * i % 7
    return time.perf_counter() - start


def slowdown() -> float:
    """How many times slower than a quiet machine this one runs now (>= 1)."""
    global _last
    forced = os.environ.get("SIMENGINE_TEST_PACE")
    if forced:
        return max(1.0, float(forced))
    now = time.monotonic()
    if _last is None or now - _last[0] > _REFRESH_S:
        measured = min(_workload_s() for _ in range(3)) / _QUIET_WORKLOAD_S
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
        _last = (now, max(1.0, measured, load))
    return _last[1]


def deadline(quiet_s: float) -> float:
    """Seconds to allow for a wait that takes at most `quiet_s` on a quiet machine."""
    return quiet_s * slowdown()


def wait_until(predicate, quiet_s: float, interval_s: float = 0.02, what: str = "the condition") -> None:
    """Poll `predicate()` until it is true; fail after `deadline(quiet_s)` seconds."""
    limit = deadline(quiet_s)
    end = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"{what} did not happen within {limit:.1f} s (pace {slowdown():.2f}x)")
        time.sleep(interval_s)
