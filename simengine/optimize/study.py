"""The search: Optuna proposes settings, the engine evaluates each on the same replica seeds.

Trials are asked `batch` at a time and run as one pool of (setting, replica)
tasks by `simengine.batch.variants.run_variants`, so a batch fills the
workers; the batch size is a setting of the search, not of the executor, so
the same seed gives the same study on every executor. Replica i of every
setting runs with ``SeedSequence(seed, spawn_key=(i,))`` (common random
numbers): two settings differ by their decisions, not by their luck, which
makes the paired comparison of :mod:`simengine.optimize.compare` sharp. A
setting proposed again (a grid or integer variable) is not simulated again:
the same seeds would give the same numbers.

The sampler is Optuna's TPE, seeded with `seed`; constraints on KPI means go
to it as each trial's constraint values (a value <= 0 is met): through
``Trial.set_constraint`` on Optuna 5, through ``constraints_func`` on Optuna 4.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simengine.batch.variants import run_variants
from simengine.config.optimize import OptimizeSettings
from simengine.optimize.space import Space

_FAR_OUTSIDE = 1.0e300  # a constraint on a KPI with no value: violated, as a finite number for Optuna


@dataclass(frozen=True)
class TrialResult:
    number: int
    setting: dict[str, float | int]
    kpis: dict[str, np.ndarray]  # KPI name -> value per replica
    repeat_of: int | None  # the earlier trial with this setting, whose replicas these are


def kpi_mean(values: np.ndarray) -> float:
    """Mean over the replicas with a value (a replica without detections has no lead time); NaN if none."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else math.nan


def search(space: Space, settings: OptimizeSettings, pool, *, progress: bool = False,
           on_chunk: Callable[[], None] | None = None) -> list[TrialResult]:
    """Run `settings.trials` trials over `space` on `pool`; every trial's setting and per-replica KPIs."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    constraints = settings.parsed_constraints()
    per_trial = hasattr(optuna.trial.Trial, "set_constraint")  # Optuna 5; 4 asks a constraints_func
    with warnings.catch_warnings():  # multivariate TPE and constraints_func are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=settings.seed, n_startup_trials=max(1, min(10, settings.trials // 3)),
            multivariate=len(space.decisions) > 1,
            constraints_func=(lambda t: t.user_attrs["constraints"]) if constraints and not per_trial else None)
    study = optuna.create_study(direction=settings.direction, sampler=sampler)
    evaluated: dict[tuple, tuple[int, dict[str, np.ndarray]]] = {}  # setting -> (first trial, KPIs)
    results: list[TrialResult] = []
    while len(results) < settings.trials:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            asked = [study.ask() for _ in range(min(settings.batch, settings.trials - len(results)))]
            proposed = [{d.key: d.suggest(t) for d in space.decisions} for t in asked]
        new = list(dict.fromkeys(k for k in map(_key, proposed) if k not in evaluated))
        if new:
            scenarios = [space.scenario(dict(zip(space.keys, k))) for k in new]
            kpis = run_variants(scenarios, replicas=settings.replicas, seed=settings.seed, pool=pool,
                                chunk=settings.chunk, progress=progress, on_chunk=on_chunk)
            first = {k: asked[[_key(p) for p in proposed].index(k)].number for k in new}
            for v, k in enumerate(new):
                evaluated[k] = (first[k], {name: column[v].copy() for name, column in kpis.items()})
        for trial, setting in zip(asked, proposed):
            first, values = evaluated[_key(setting)]
            violations = [min(c.violation(kpi_mean(values[c.kpi])), _FAR_OUTSIDE) for c in constraints]
            if per_trial:
                for c, violation in zip(constraints, violations):
                    trial.set_constraint(str(c), violation)
            elif constraints:
                trial.set_user_attr("constraints", violations)
            objective = kpi_mean(values[settings.objective])
            if math.isfinite(objective):
                study.tell(trial, objective)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            results.append(TrialResult(trial.number, setting, values, None if first == trial.number else first))
    return results


def _key(setting: dict) -> tuple:
    return tuple(setting.values())
