"""Compilation caches: a second process loads the rainflow kernel and the jitted physics instead of
compiling them again, and a cache folder that cannot be written costs the cache, never the run.

Real subprocesses with their own cache folder; hits and misses are read from numba's dispatcher
statistics and JAX's monitoring events, never from timings.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simengine import caches

SIGNAL = [0.0, 2.0, -1.0, 3.0, -2.0, 1.0, -0.5, 0.5]
BLOCK = (1e-3, 1e6, 1.65e-11, 3.0, 1.12)   # crack depth m, sum of stress ranges^m, Paris C, m, Y

# Counts a short signal (numba) and advances one Paris block under jit (JAX), then reports what
# each cache did. JAX's events are recorded from its first import on.
_CHILD = f"SIGNAL, BLOCK = {SIGNAL!r}, {BLOCK!r}\n" + r"""
import json
from jax import monitoring

events = {}
monitoring.register_event_listener(lambda name, **kw: events.__setitem__(name, events.get(name, 0) + 1))

import jax
import numpy as np

from simengine.fatigue import _rainflow_kernel as kernel
from simengine.fatigue.rainflow import count_cycles
from simengine.physics import paris_block

cycles = count_cycles(np.array(SIGNAL))
crack_m = jax.jit(paris_block)(*BLOCK)
entries = (kernel.process_into, kernel.residue_into)   # what count_cycles calls from Python
print(json.dumps({
    "numba_caching": kernel._CACHE,
    "numba_hits": sum(sum(d.stats.cache_hits.values()) for d in entries),
    "numba_misses": sum(sum(d.stats.cache_misses.values()) for d in entries),
    "numba_paths": sorted({str(d.stats.cache_path) for d in entries}),
    "jax_dir": jax.config.jax_compilation_cache_dir,
    "jax_hits": events.get("/jax/compilation_cache/cache_hits", 0),
    "jax_misses": events.get("/jax/compilation_cache/cache_misses", 0),
    "rows": [cycles.ranges.tolist(), cycles.means.tolist(), cycles.counts.tolist()],
    "crack_m": float(crack_m),
}))
"""


def _children(*caches_: Path) -> list[dict]:
    """One child per cache folder, all started at once, and what each reported. Each child compiles on one
    core and the folders are separate, so a pair on the 2-core machines the suite runs on takes about the
    time of one; what a child reports depends only on its own folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "JAX_COMPILATION_CACHE_DIR")}
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD], env={**env, caches.ENV: str(cache)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for cache in caches_]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def test_cache_folder_is_the_override_else_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(caches.ENV, str(tmp_path / "mine"))
    assert caches.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(caches.ENV)
    if sys.platform.startswith("linux"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert caches.cache_dir() == tmp_path / "xdg" / "simengine"
        monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")       # XDG: relative paths are invalid
        assert caches.cache_dir() == Path.home() / ".cache" / "simengine"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert caches.cache_dir() == Path.home() / ".cache" / "simengine"


BLOCKER_TEXT = "a file where the cache folder would be"


def damage(cache: Path) -> list[Path]:
    """Every cache file of `cache` cut short or overwritten with garbage, in turn; the files."""
    damaged = [f for f in cache.rglob("*") if f.is_file() and not f.name.startswith(".")]
    for i, f in enumerate(damaged):
        f.write_bytes(f.read_bytes()[:20] if i % 2 else b"garbage")
    return damaged


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """The four children the tests below read, two at a time: a fresh cache folder filled (`first`) beside
    one under a file, where no folder can be made (`blocked`); then the filled folder read again
    (`second`) beside a copy of it with every file damaged (`damaged`, its `damaged_files`)."""
    root = tmp_path_factory.mktemp("caches")
    cache, blocker = root / "cache", root / "a_file"
    blocker.write_text(BLOCKER_TEXT)
    first, blocked = _children(cache, blocker / "cache")
    shutil.copytree(cache, root / "damaged")
    damaged_files = damage(root / "damaged")
    second, damaged = _children(cache, root / "damaged")
    return {"cache": cache, "first": first, "second": second, "blocker": blocker, "blocked": blocked,
            "damaged_files": damaged_files, "damaged": damaged}


def test_second_process_loads_what_the_first_compiled(runs):
    cache, first = runs["cache"], runs["first"]
    assert first["numba_caching"] is True
    assert first["numba_misses"] >= 2 and first["numba_hits"] == 0
    assert len(first["numba_paths"]) == 1 and Path(first["numba_paths"][0]).parent == cache / "numba"
    assert list((cache / "numba").rglob("*.nbi")), "numba wrote no index to the cache folder"
    assert first["jax_dir"] == str(cache / "jax")
    assert first["jax_misses"] >= 1 and first["jax_hits"] == 0
    assert list((cache / "jax").iterdir()), "JAX wrote no executable to the cache folder"

    second = runs["second"]
    assert second["numba_hits"] >= 2 and second["numba_misses"] == 0
    assert second["jax_hits"] >= 1 and second["jax_misses"] == 0
    assert second["rows"] == first["rows"] and second["crack_m"] == first["crack_m"]


def test_damaged_cache_files_are_compiled_afresh(runs):
    damaged = runs["damaged_files"]  # cut short, or garbage
    assert any(f.suffix == ".nbi" for f in damaged) and any(f.suffix == ".nbc" for f in damaged)

    again = runs["damaged"]
    assert again["numba_misses"] >= 2 and again["numba_hits"] == 0
    assert again["rows"] == runs["first"]["rows"] and again["crack_m"] == runs["first"]["crack_m"]


def test_unwritable_cache_folder_means_no_cache_and_the_same_results(runs):
    import jax

    from simengine.fatigue.rainflow import count_cycles
    from simengine.physics import paris_block

    blocker = runs["blocker"]
    assert not caches.writable_folder(blocker / "cache")          # not a directory: even root cannot write it

    blocked = runs["blocked"]
    assert blocked["numba_caching"] is False and blocked["jax_dir"] is None
    assert blocked["numba_hits"] == 0 and blocked["numba_paths"] == ["None"]   # compiled in memory only
    here = count_cycles(np.array(SIGNAL))
    assert blocked["rows"] == [here.ranges.tolist(), here.means.tolist(), here.counts.tolist()]
    assert blocked["crack_m"] == float(jax.jit(paris_block)(*BLOCK))
    assert blocker.read_text() == BLOCKER_TEXT
