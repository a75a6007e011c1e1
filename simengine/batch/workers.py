"""What each pool worker does first: die with its parent, and spot an unguarded script.

A spawn worker outlives a parent killed by SIGKILL: it finishes its replica
and then waits for work forever, holding its memory. On Linux the kernel
kills it with its parent (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere,
and for the moment before prctl takes effect, a daemon thread polls the
parent's pid and ends the worker when the parent is gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_S = 1.0

GUARD_MESSAGE = (
    "simengine.run(executor='processes') was called while a worker process was starting: the script that "
    "calls it runs again in every worker. Put the call under `if __name__ == \"__main__\":` "
    "(see https://docs.python.org/3/library/multiprocessing.html#the-spawn-and-forkserver-start-methods)."
)


def init_worker(parent_pid: int) -> None:
    """Pool initializer: end this worker when the process with pid `parent_pid` ends."""
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="simengine-parent-watch", daemon=True).start()


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _watch_parent(parent_pid: int) -> None:
    # getppid() changes to the reaper's pid once the parent is gone.
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os._exit(1)


def in_spawn_bootstrap() -> bool:
    """Whether this process is a spawn worker still importing its parent's main module."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))
