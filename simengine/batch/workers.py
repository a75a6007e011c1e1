"""What each pool worker does first: die with its parent, and spot an unguarded script.

A spawn worker outlives a parent killed by SIGKILL: it finishes its replica
and then waits for work forever, holding its memory. On Linux the kernel
kills it with its parent (``prctl(PR_SET_PDEATHSIG, SIGKILL)``); elsewhere,
and for the moment before prctl takes effect, a daemon thread polls the
parent's pid and ends the worker when the parent is gone.
"""

from __future__ import annotations

import ast
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
    "simengine.run(executor='processes') is called from the top level of the main script, which every worker "
    "process runs again as it starts. Put the call under `if __name__ == \"__main__\":` "
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


def unguarded_main_call() -> bool:
    """Whether the main script's top level reaches this call outside ``if __name__ == "__main__":``.

    Each spawn worker runs the main script's top level again, so such a call
    would start workers from workers. Judged from the script's source; a
    session without a script file (a notebook, ``python -c``) is never unguarded.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    spec_name = getattr(getattr(main, "__spec__", None), "name", None) or ""
    if spec_name == "__main__" or spec_name.endswith(".__main__"):
        return False  # multiprocessing does not re-run a package's __main__ (`python -m package`)
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"):
        frame = frame.f_back
    if path is None or frame is None:
        return False
    try:
        tree = ast.parse(open(path, encoding="utf-8").read())
    except (OSError, SyntaxError, ValueError):
        return False
    line = frame.f_lineno
    return not any(node.body[0].lineno <= line <= node.body[-1].end_lineno
                   for node in ast.walk(tree) if isinstance(node, ast.If) and _is_main_test(node.test))


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def in_spawn_bootstrap() -> bool:
    """Whether this process is a spawn worker still importing its parent's main module."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))
