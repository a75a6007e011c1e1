"""Benchmark plumbing: medians of repeated timings, side by side, written as JSON.

Machines here are shared and noisy: every benchmark times ours and the
reference alternately in one process and reports medians and their ratio.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


@dataclass
class BenchResult:
    name: str
    goal: str
    figures: dict[str, float | str] = field(default_factory=dict)
    timings_s: dict[str, list[float]] = field(default_factory=dict)
    notes: str = ""

    def median(self, label: str) -> float:
        return statistics.median(self.timings_s[label])


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


def alternate(runs: dict[str, callable], repeats: int) -> tuple[dict[str, list[float]], dict[str, object]]:
    """Time each callable `repeats` times, interleaved (a, b, a, b, ...) so drift hits both alike."""
    timings: dict[str, list[float]] = {k: [] for k in runs}
    last: dict[str, object] = {}
    for _ in range(repeats):
        for label, fn in runs.items():
            dt, last[label] = timed(fn)
            timings[label].append(dt)
    return timings, last


def write(result: BenchResult, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = asdict(result)
    payload["machine"] = {"platform": platform.platform(), "python": platform.python_version(),
                          "processor": platform.processor(), "cpus": _cpu_count()}
    payload["created_utc"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path = out_dir / f"{result.name}.json"
    path.write_text(json.dumps(payload, indent=2, default=_jsonable))
    return path


def table(results: list[BenchResult]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.name}  (goal: {r.goal})")
        for key, value in r.figures.items():
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            lines.append(f"    {key:<38} {shown}")
        if r.notes:
            lines.append(f"    note: {r.notes}")
    return "\n".join(lines)


def summary_table(results: list[BenchResult], headlines: dict[str, tuple[str, ...]]) -> str:
    """One aligned row per headline figure: benchmark, figure, value, goal."""
    rows = [("benchmark", "figure", "value", "goal")]
    for r in results:
        for i, key in enumerate(headlines.get(r.name, ())):
            value = r.figures.get(key, "not measured")
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            rows.append((r.name if i == 0 else "", key, shown, r.goal if i == 0 else ""))
    widths = [max(len(row[c]) for row in rows) for c in range(3)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(lines)


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
