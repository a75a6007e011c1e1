"""Where a run's replicas spent their time (``simengine run ... profile=true``).

Each task a pool runs (a chunk of replicas) runs under :mod:`cProfile` where it
runs, in this process or in a worker; the statistics come back with its
results and are merged (``pstats.Stats.add``). The run's folder then holds:

- ``profile.prof``: the merged statistics, for snakeviz or ``python -m pstats``;
- ``profile.txt``: own time by package and by module, then the top functions
  by cumulative and by own time. Functions are named by their module
  (``simengine.kinds.lift_duty:88(inputs)``), so an asset kind of one's own shows
  up under its own package beside the engine's. A built-in function's time
  (a NumPy or JAX call into C, a lock) counts towards the code that called it.

What is profiled is the replicas' own work: not the pool's start, the
transfers, the merge into run.h5 or the plots.
"""

from __future__ import annotations

import cProfile
import functools
import io
import os
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from pstats import Stats

TOP = 30  # functions listed by cumulative and by own time
TOP_MODULES = 25
STDLIB = "python (standard library)"
BUILT_IN = "built-in"
GENERATED = "generated code (<string>: dataclass and namedtuple methods)"


def profiled_call(fn: Callable, *args):
    """``fn(*args)`` under cProfile: its result and the raw statistics (plain, picklable data)."""
    profile = cProfile.Profile()
    result = profile.runcall(fn, *args)
    profile.create_stats()
    return result, profile.stats


class _RawStats:
    """Raw cProfile statistics in the shape `pstats.Stats` loads (an object with `create_stats` and `stats`)."""

    def __init__(self, stats: dict):
        self.stats = stats

    def create_stats(self) -> None:
        pass


class ProfiledPool:
    """A pool (serial, processes, dask) whose every task runs under cProfile where it runs; `stats` merges them."""

    def __init__(self, pool):
        self.pool = pool
        self.stats: Stats | None = None
        self.tasks = self.results = 0  # tasks run, and the items (replicas) their results held

    def __getattr__(self, name: str):  # workers, client, ...: the wrapped pool's
        return getattr(self.pool, name)

    def imap(self, fn: Callable, tasks: Sequence[tuple]) -> Iterator[tuple[int, object]]:
        for i, (result, raw) in self.pool.imap(profiled_call, [(fn, *args) for args in tasks]):
            if self.stats is None:
                self.stats = Stats(_RawStats(raw))
            else:
                self.stats.add(_RawStats(raw))
            self.tasks += 1
            self.results += len(result) if isinstance(result, (list, tuple)) else 1
            yield i, result

    def close(self) -> None:
        self.pool.close()


def write_profile(stats: Stats, folder: Path, title: str) -> tuple[Path, Path]:
    """``profile.prof`` and ``profile.txt`` in `folder`; `title` heads the text."""
    prof, text = folder / "profile.prof", folder / "profile.txt"
    stats.dump_stats(prof)
    text.write_text(report(stats, title))
    return prof, text


def report(stats: Stats, title: str) -> str:
    """The text of profile.txt: totals, own time by package and by module, top functions."""
    entries = stats.stats  # (file, line, name) -> (primitive calls, calls, own s, cumulative s, callers)
    total = sum(tt for _cc, _nc, tt, _ct, _callers in entries.values())
    packages, modules = own_time_by_group(entries)
    out = io.StringIO()
    out.write(f"{title}\n")
    out.write(f"{total:.3f} s of replica time profiled ({sum(nc for _cc, nc, *_ in entries.values()):,} calls).\n")
    out.write("Not profiled: the pool's start, transfers, the merge into run.h5, the plots.\n")
    out.write("The whole profile: snakeviz profile.prof (pip install snakeviz), or python -m pstats profile.prof\n")
    out.write("A built-in function's time (a NumPy or JAX call into C, a lock) counts towards the code calling it.\n")
    _share_table(out, "Own time by package", packages, total, len(packages))
    _share_table(out, f"Own time by module (top {TOP_MODULES})", modules, total, TOP_MODULES)
    for label, column in (("cumulative", 3), ("own", 2)):
        out.write(f"\nTop {TOP} functions by {label} time\n")
        out.write(f"{'cumulative s':>12} {'own s':>9} {'calls':>10}  function\n")
        ranked = sorted(entries.items(), key=lambda kv: kv[1][column], reverse=True)[:TOP]
        for func, (cc, nc, tt, ct, _callers) in ranked:
            calls = f"{nc}" if nc == cc else f"{nc}/{cc}"
            out.write(f"{ct:12.3f} {tt:9.3f} {calls:>10}  {function_name(func)}\n")
    return out.getvalue()


def _share_table(out: io.StringIO, heading: str, seconds: dict[str, float], total: float, top: int) -> None:
    out.write(f"\n{heading}\n{'own s':>9} {'share':>6}  where\n")
    for name, s in sorted(seconds.items(), key=lambda kv: kv[1], reverse=True)[:top]:
        out.write(f"{s:9.3f} {100 * s / total if total else 0:5.1f}%  {name}\n")


def own_time_by_group(entries: dict) -> tuple[dict[str, float], dict[str, float]]:
    """Own time summed by package and by module; a built-in's own time split over its callers as the profile
    splits it (each caller's share of it)."""
    packages: dict[str, float] = defaultdict(float)
    modules: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tt, _ct, callers) in entries.items():
        shares = [(func, tt)]
        if func[0] == "~" and callers:  # a built-in: where it was called from
            shares = [(caller, edge[2]) for caller, edge in callers.items()]
        for where, seconds in shares:
            module = module_of(where[0])
            modules[module] += seconds
            packages[package_of(module)] += seconds
    return dict(packages), dict(modules)


def function_name(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return f"{BUILT_IN}: {name}"
    return f"{module_of(filename)}:{line}({name})"


def module_of(filename: str) -> str:
    """The dotted module a source file is imported as (by the longest import root holding it)."""
    if filename == "~":
        return BUILT_IN
    if filename.startswith("<frozen "):  # <frozen importlib._bootstrap>: the standard library, built in
        return f"{filename[8:-1]} [stdlib]"
    if filename.startswith("<"):  # <string>: code made at run time (dataclass and namedtuple methods)
        return GENERATED
    path = os.path.realpath(filename)
    for root, stdlib in _import_roots():
        if path.startswith(root + os.sep):
            dotted = os.path.splitext(path[len(root) + 1:])[0].replace(os.sep, ".").removesuffix(".__init__")
            return f"{dotted} [stdlib]" if stdlib else dotted
    return os.path.splitext(os.path.basename(filename))[0]


def package_of(module: str) -> str:
    """The package a module's time is summed under: simengine's subpackages one by one, others by their top."""
    if module.endswith(" [stdlib]"):
        return STDLIB
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "simengine" and len(parts) > 1 else parts[0]


@functools.cache
def _import_roots() -> list[tuple[str, bool]]:
    """The folders modules are imported from, longest first, each marked standard library or not."""
    import simengine

    stdlib = {os.path.realpath(sysconfig.get_paths()[k]) for k in ("stdlib", "platstdlib")}
    roots = {os.path.realpath(p or os.getcwd()) for p in sys.path if os.path.isdir(p or os.getcwd())}
    roots.add(os.path.realpath(Path(simengine.__file__).parent.parent))  # an editable install is not on sys.path
    site = {os.path.realpath(p) for p in sysconfig.get_paths().values()} - stdlib
    marked = [(r, r in stdlib or (any(r.startswith(s + os.sep) for s in stdlib) and r not in site)) for r in roots]
    return sorted(marked, key=lambda rs: len(rs[0]), reverse=True)
