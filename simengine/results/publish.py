"""A results folder that appears whole or not at all, and signals that end a run cleanly.

Used by `simengine run` (and the library's `simengine.run`), `simengine fatigue`, `sweep`,
`sensitivity` and `optimize`. Their folders are named by `stamped_name`.
A run writes into a staging folder beside its final one, named
``.<name>.partial-<pid>`` (hidden, and saying it is unfinished), fsyncs what it
wrote and renames the staging folder to its final name in one step. Any error,
Ctrl-C or SIGTERM removes the staging folder (and the output folder, where
this run created it and left it empty). `kill -9` cannot clean up: it leaves a
staging folder whose process is gone, which the next run in that output
folder sweeps away.

A resumable run (one that streams finished replicas into its staging folder)
marks the folder with a ``batch.json`` file: such a folder is kept on Ctrl-C
and SIGTERM, never swept, and taken over by the run that resumes it
(:meth:`StagedFolder.adopt`).

Ctrl-C: some libraries run Python callbacks where an exception is printed and
dropped (JAX's garbage-collection callback, say), so a KeyboardInterrupt raised
there would be lost and the run would go on. `signals_end_run` remembers
every SIGINT/SIGTERM, and `check()` raises again at each step of the run, so
an interrupt never publishes a result.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import signal
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

_PARTIAL = re.compile(r"^\.(.+)\.partial-(\d+)$")
# Staging folders made but not yet entered: a signal landing between `StagedFolder(...)` and `with` raises
# there, where no `__exit__` runs; `signals_end_run` removes them on its way out.
_UNENTERED: set[StagedFolder] = set()
RESUMABLE = "batch.json"  # in a staging folder: the work in it can be resumed, so it is kept


def utc_stamp() -> str:
    """Now, in UTC, as ``20261203T014512123456Z``: sorts as it reads, is safe in a file name, and carries
    microseconds, so that two runs started in the same second get different names."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def stamped_name(prefix: str) -> str:
    """The name of a new output folder (or file): ``<prefix>-<utc_stamp()>``."""
    return f"{prefix}-{utc_stamp()}"


class Terminated(BaseException):
    """SIGTERM arrived: end the run as Ctrl-C would (a BaseException, so that no `except Exception` keeps going)."""


class PendingSignals:
    """The SIGINT/SIGTERM seen so far; `check()` raises for the first one."""

    def __init__(self):
        self.seen: list[int] = []

    def check(self) -> None:
        if self.seen:
            raise KeyboardInterrupt if self.seen[0] == signal.SIGINT else Terminated()


@contextmanager
def signals_end_run():
    """SIGINT raises KeyboardInterrupt and SIGTERM `Terminated`, at once and again at every `check()`.
    Outside the main thread (no handlers can be set there) it only yields an empty record."""
    pending = PendingSignals()
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return

    def handler(signum, frame):
        pending.seen.append(signum)
        if not _in_gc_callback(frame):  # there Python would print the exception and drop it; check() raises later
            pending.check()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield pending
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _abandon_unentered()


def _in_gc_callback(frame) -> bool:
    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        if frame.f_code in codes:
            return True
        frame = frame.f_back
    return False


def sweep_stale(out_dir: Path) -> list[Path]:
    """Remove staging folders in `out_dir` whose process is gone (a run killed with -9); returns them.
    Resumable ones (holding ``batch.json``) stay for a later run to resume."""
    removed = []
    for entry in abandoned(out_dir):
        if not (entry / RESUMABLE).exists():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def abandoned(out_dir: Path) -> list[Path]:
    """Staging folders in `out_dir` whose process is gone, or that this process no longer works in
    (a library call that was interrupted)."""
    return [entry for entry in (sorted(out_dir.iterdir()) if out_dir.is_dir() else ())
            if entry.is_dir() and (owner := staging_owner(entry)) is not None
            and (not _alive(owner) or (owner == os.getpid() and entry.resolve() not in _HELD))]


_HELD: set[Path] = set()  # staging folders this process is working in now


def staging_owner(path: Path) -> int | None:
    """The pid in a staging folder's name; None for a name that is not a staging folder's."""
    match = _PARTIAL.match(path.name)
    return int(match.group(2)) if match else None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


class StagedFolder:
    """`out_dir/<name>` built in `out_dir/.<name>.partial-<pid>` and published by `publish()`.

    Creating it is the writability check: an output folder that cannot be written fails here,
    before any work is done, with an OSError. Use as a context manager: leaving it without
    `publish()` (an error, a signal) removes the staging folder, and the output folder if this
    run created it and it is empty.
    """

    def __init__(self, out_dir: str | os.PathLike, name: str, *, adopt: Path | None = None):
        self.out_dir = Path(out_dir)
        self.final = self.out_dir / name
        self.staging = self.out_dir / f".{name}.partial-{os.getpid()}"
        self._created = self._missing_parents(self.out_dir)
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            sweep_stale(self.out_dir)
            if self.final.exists():
                raise FileExistsError(f"{self.final} exists already")
            if adopt is None:
                self.staging.mkdir()
            else:  # one rename: of two runs resuming the same folder, the second finds it gone
                os.rename(adopt, self.staging)
        except BaseException:
            self._remove_created()
            raise
        self.published = False
        _UNENTERED.add(self)

    @classmethod
    def adopt(cls, staging: Path) -> StagedFolder:
        """Take over the staging folder of a run that is gone (renamed to this process's pid)."""
        staging = Path(staging)
        match = _PARTIAL.match(staging.name)
        if match is None:
            raise ValueError(f"{staging} is not a staging folder (.<name>.partial-<pid>)")
        return cls(staging.parent, match.group(1), adopt=staging)

    @property
    def resumable(self) -> bool:
        return (self.staging / RESUMABLE).exists()

    @staticmethod
    def _missing_parents(path: Path) -> list[Path]:
        missing = []
        while not path.exists() and path != path.parent:
            missing.append(path)
            path = path.parent
        return missing  # innermost first

    def __enter__(self) -> StagedFolder:
        _HELD.add(self.staging.resolve())
        _UNENTERED.discard(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        _HELD.discard(self.staging.resolve())
        interrupted = exc_type is not None and issubclass(exc_type, (KeyboardInterrupt, Terminated))
        if interrupted and self.resumable:
            return  # kept for `resume`
        if not self.published:
            shutil.rmtree(self.staging, ignore_errors=True)
            self._remove_created()

    def _remove_created(self) -> None:
        for folder in self._created:
            try:
                folder.rmdir()  # only if empty: another run may have written there meanwhile
            except OSError:
                break

    def publish(self) -> Path:
        """fsync every file and the staging folder, then rename it to its final name in one step."""
        for path in self.staging.rglob("*"):
            if path.is_file():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
        _fsync_dir(self.staging)
        os.rename(self.staging, self.final)  # atomic on one file system; fails if `final` appeared meanwhile
        self.published = True
        _fsync_dir(self.out_dir)
        return self.final


def _abandon_unentered() -> None:
    """Remove the staging folders made but never entered (their output folders too, where made and left
    empty), except resumable ones, which a later run takes over."""
    while _UNENTERED:
        folder = _UNENTERED.pop()
        if not folder.resumable:
            shutil.rmtree(folder.staging, ignore_errors=True)
            folder._remove_created()


@contextmanager
def atomic_path(path: Path):
    """A temporary name beside `path` to write a file under; once the block ends, the file is fsynced and
    renamed to `path` in one step, so a reader or a crash sees the old file or the whole new one.
    Any error (or Ctrl-C) in the block removes the temporary."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as fh:  # without it a crash right after the rename can leave an empty file
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
