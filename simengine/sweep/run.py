"""A what-if sweep: every replica of every variant on one pool, compared with common random numbers.

One folder per sweep, ``<out_dir>/sweep-<scenario>-<UTC time>/``, appears whole
or not at all: ``sweep.h5`` (:mod:`simengine.sweep.store`), ``report.md`` (the
comparison table) and one ``kpi-<name>.png`` per KPI. While it runs, finished
tasks are pieces in its hidden staging folder; Ctrl-C or SIGTERM keeps that
folder, and the same call again (or ``resume=<folder>``) finishes the sweep
with the results an uninterrupted one gives.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simengine.api import Interrupted, check_out_dir, check_run_arguments
from simengine.batch.pools import open_pool
from simengine.batch.resume import check_resume, find_unfinished, write_manifest
from simengine.batch.variants import PIECES, done_pieces, run_variants
from simengine.config import ConfigError, Problem, to_dict
from simengine.engine.kpis import KPIS
from simengine.results.publish import RESUMABLE, StagedFolder, Terminated, stamped_name
from simengine.sweep.compare import Comparison, compare
from simengine.sweep.plots import plot_sweep
from simengine.sweep.report import markdown_report, text_report
from simengine.sweep.store import SWEEP_FILE, Variant, write_sweep

REPORT_FILE = "report.md"


@dataclass(frozen=True)
class SweepRun:
    """A finished sweep: the KPIs (name -> (variant, replica)), their comparison, the report, and the folder."""

    variants: list[Variant]
    seed: int
    replicas: int
    kpis: dict[str, np.ndarray]
    comparison: Comparison
    report: str
    path: Path | None  # sweep.h5, or None when nothing was written
    plots: list[Path]


def sweep_identity(variants: list[Variant], seed: int, replicas: int) -> dict:
    """What a sweep's results depend on, as JSON reads it back: a resume must match it."""
    return json.loads(json.dumps({"sweep": [{"label": v.label, "scenario": to_dict(v.scenario)} for v in variants],
                                  "seed": seed, "replicas": replicas}))


def baseline_index(baseline: str | int | None, labels: list[str]) -> int:
    """The baseline's index from its number or its label (None: the first); else one ConfigError."""
    if baseline is None:
        return 0
    text = str(baseline).strip()
    if text.isdigit() and int(text) < len(labels):
        return int(text)
    matches = [i for i, label in enumerate(labels) if label == text or set(text.split()) <= set(label.split())]
    if len(matches) == 1:
        return matches[0]
    listed = "; ".join(f"{i}: {label}" for i, label in enumerate(labels))
    rule = "matches several variants" if matches else "names no variant"
    raise ConfigError([Problem("sweep.baseline", baseline, f"{rule}; give a variant's number or label ({listed})")])


def check_variants(variants: list[Variant]) -> None:
    if not variants:
        raise ConfigError([Problem("<sweep>", [], "a sweep needs at least one variant")])
    seen: dict[str, int] = {}
    for i, v in enumerate(variants):
        if v.label in seen:
            raise ConfigError([Problem("<sweep>", v.label, f"variants {seen[v.label]} and {i} are the same; "
                                                           "list each value once")])
        seen[v.label] = i


def run_sweep(variants: list[Variant], *, replicas: int = 8, seed: int = 0, executor="serial", workers: int = 2,
              out_dir: str | Path | None = None, plots: bool = True, progress: bool | None = None,
              baseline: str | int | None = None, dask_address: str | None = None, dask_timeout_s: float = 10.0,
              resume: str | Path | None = None, chunk: int | None = None,
              on_chunk: Callable[[], None] | None = None, settings: dict | None = None) -> SweepRun:
    """Run `replicas` replicas of every variant, replica i of each with the same seeds, as one pool of tasks.

    `executor`, `workers`, `dask_address`, `chunk`, `resume` and `progress` as for
    :func:`simengine.run`. Everything is checked before any replica runs. With
    `out_dir`, publishes the sweep folder; Ctrl-C or SIGTERM raises
    :class:`simengine.api.Interrupted` naming the staging folder to resume.
    """
    check_run_arguments(replicas=replicas, seed=seed, executor=executor if isinstance(executor, str) else "dask",
                        workers=workers, chunk=chunk)
    check_variants(variants)
    labels = [v.label for v in variants]
    base = baseline_index(baseline, labels)
    if progress is None:
        progress = sys.stderr.isatty()
    ident = sweep_identity(variants, seed, replicas)
    adopt = check_resume(resume, ident) if resume is not None else None
    if out_dir is not None and adopt is None:
        check_out_dir(out_dir)
        adopt = find_unfinished(Path(out_dir), ident)
    pool = open_pool(executor, workers, dask_address, dask_timeout_s)
    scenarios = [v.scenario for v in variants]
    try:
        if adopt is None and out_dir is None:
            kpis = run_variants(scenarios, replicas=replicas, seed=seed, pool=pool, chunk=chunk, progress=progress,
                                on_chunk=on_chunk)
            comparison = compare(kpis, labels, base)
            return SweepRun(variants, seed, replicas, kpis, comparison, text_report(comparison, replicas), None, [])
        staged = StagedFolder.adopt(adopt) if adopt is not None else StagedFolder(out_dir, _folder_name(variants))
        run_settings = dict(settings or {}, replicas=replicas, seed=seed, baseline=base,
                            executor=executor if isinstance(executor, str) else "dask")
        return _sweep_to_folder(staged, variants, replicas, seed, pool, base, plots, progress, chunk,
                                on_chunk or (lambda: None), run_settings, ident)
    finally:
        pool.close()


def _sweep_to_folder(staged: StagedFolder, variants, replicas, seed, pool, base, plots, progress, chunk, on_chunk,
                     settings, ident) -> SweepRun:
    staging = staged.staging
    labels = [v.label for v in variants]
    with staged:
        write_manifest(staging, ident)
        try:
            kpis = run_variants([v.scenario for v in variants], replicas=replicas, seed=seed, pool=pool, chunk=chunk,
                                staging=staging, progress=progress, on_chunk=on_chunk)
            comparison = compare(kpis, labels, base)
            write_sweep(staging / SWEEP_FILE, variants=variants, kpis=kpis, comparison=comparison, seed=seed,
                        settings=settings)
            on_chunk()
            pngs = plot_sweep(comparison, staging) if plots else []
            title = f"Sweep of {variants[0].scenario.name}: {len(variants)} variants × {replicas} replicas, seed {seed}"
            (staging / REPORT_FILE).write_text(markdown_report(comparison, replicas, title, [p.name for p in pngs]),
                                               encoding="utf-8")
            on_chunk()
        except (KeyboardInterrupt, Terminated) as err:
            done = done_pieces(staging, {name: np.full((len(variants), replicas), np.nan) for name in KPIS})
            raise Interrupted(staging, int(done.sum()), len(variants) * replicas, err) from err
        shutil.rmtree(staging / PIECES, ignore_errors=True)
        (staging / RESUMABLE).unlink()
        folder = staged.publish()
    return SweepRun(variants, seed, replicas, kpis, comparison, text_report(comparison, replicas),
                    folder / SWEEP_FILE, [folder / p.name for p in pngs])


def _folder_name(variants: list[Variant]) -> str:
    names = list(dict.fromkeys(v.scenario.name for v in variants))
    return stamped_name(f"sweep-{names[0] if len(names) == 1 else 'scenarios'}")
