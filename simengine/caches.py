"""Where compiled code is kept between processes, so that only the first process compiles.

Two caches share one per-user folder, `cache_dir()`:

* ``numba/``: the rainflow kernel's machine code (numba ``cache=True``);
* ``jax/``: JAX's persistent compilation cache (XLA executables of the jitted
  physics).

The folder is ``$SIMENGINE_CACHE_DIR`` if set, else the platform's user cache
folder: ``$XDG_CACHE_HOME/simengine`` or ``~/.cache/simengine`` (Linux),
``~/Library/Caches/simengine`` (macOS), ``%LOCALAPPDATA%\\simengine\\Cache``
(Windows). A user's own ``NUMBA_CACHE_DIR`` or ``JAX_COMPILATION_CACHE_DIR``
wins over it. Both caches key their entries on what was compiled (source,
types, versions, CPU), so a stale entry is never used; deleting the folder is
always safe.

A cache folder that cannot be written (read-only home, a file in the way)
means no cache, logged at debug level: a run never fails for its cache.
Both caches hold code that this user's processes load and run, so the folder
must be writable by this user only (JAX's documentation says the same).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "SIMENGINE_CACHE_DIR"


def cache_dir() -> Path:
    """The folder simengine keeps its compilation caches in (not created here)."""
    override = os.environ.get(ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "simengine" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "simengine"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # XDG says a relative value is invalid and is to be ignored
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "simengine"


def writable_folder(path: Path) -> bool:
    """Make `path` (and its parents) and check that a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as err:
        log.debug("compilation cache folder %s is not usable (%s): not caching there", path, err)
        return False
    return True


@functools.cache
def configure_numba() -> bool:
    """Point numba's cache at ``<cache_dir>/numba``; True if ``cache=True`` kernels may be compiled.

    Call it before the kernels are decorated: numba picks a function's cache
    folder when ``@njit(cache=True)`` runs. A user's ``NUMBA_CACHE_DIR`` is
    kept. False (compile in memory, every process) when no folder is writable.
    """
    from numba.core import config

    folder = Path(os.environ.get("NUMBA_CACHE_DIR") or cache_dir() / "numba")
    if not writable_folder(folder):
        return False
    # numba read NUMBA_CACHE_DIR when it was imported; setting its config (not the
    # environment) leaves child processes and the user's own numba code alone.
    config.CACHE_DIR = str(folder)
    return True


@functools.cache
def configure_jax() -> bool:
    """Turn on JAX's persistent compilation cache in ``<cache_dir>/jax``; True if it is on.

    Takes effect for every compilation after the call (JAX opens its cache at
    the first compilation that finds a folder set). A folder the user set
    (``JAX_COMPILATION_CACHE_DIR`` or ``jax_compilation_cache_dir``) is kept.
    """
    import jax

    if jax.config.jax_compilation_cache_dir:
        return True
    folder = cache_dir() / "jax"
    if not writable_folder(folder):
        return False
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # Cache every executable: a cold run is many small compilations (tens of ms
    # each, below JAX's default 1 s threshold), and together they are seconds.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return True
