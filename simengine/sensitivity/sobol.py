"""Sobol' first-order and total indices of an evaluator's KPIs, with SALib.

Sampling: Saltelli's scheme on a scrambled Sobol' sequence (`SALib.sample.sobol`),
N·(D+2) points for D parameters, drawn on the unit cube and mapped through each
parameter's inverse CDF (the indices depend on the inputs' distributions, not on
how they are parametrised). Analysis: `SALib.analyze.sobol` (Saltelli 2010
first-order and Jansen total estimators) with bootstrap confidence intervals.

A KPI of the engine is a mean over `replicas` Monte Carlo replicas at each
point, so it carries noise that the inputs do not explain: it adds to the
KPI's variance, pulling every first-order index down, and to the differences
the total-index estimator squares, pushing every total index up. With common
random numbers (replica i of every point sees the same random streams) what is
left of it is the part that changes with the inputs; more replicas shrink it
as 1/replicas. `noise_share` measures it: the within-point variance over
replicas / replicas, as a fraction of the variance of the KPI means (an upper
bound under common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simengine.sensitivity.evaluators import Evaluator
from simengine.sensitivity.parameters import unit_hypercube_problem

# Spawn keys of the study's own streams; replica i's key is (i,), so two-element keys never meet them.
_SAMPLING_KEY = (0x5AB1, 0)
_BOOTSTRAP_KEY = (0x5AB1, 1)


@dataclass(frozen=True)
class Design:
    """The sample points: on the unit cube and in the parameters' units, rows (point), columns (parameter)."""

    samples: int
    unit: np.ndarray
    values: np.ndarray


@dataclass(frozen=True)
class Indices:
    """One KPI's indices, one entry per parameter; NaN with a `note` where they cannot be estimated."""

    S1: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_conf: np.ndarray
    variance: float
    noise_share: float
    note: str = ""


@dataclass(frozen=True)
class Study:
    model: str
    names: list[str]
    kpis: tuple[str, ...]
    design: Design
    outputs: dict[str, np.ndarray]  # KPI -> (point, replica)
    indices: dict[str, Indices]
    replicas: int
    seed: int
    confidence: float
    resamples: int


def design(evaluator: Evaluator, samples: int, seed: int) -> Design:
    """Saltelli's N·(D+2) points for `evaluator`'s parameters, checked by the evaluator (ConfigError if refused)."""
    from SALib.sample import sobol as sobol_sample

    names = [p.name for p in evaluator.parameters]
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_SAMPLING_KEY))
    unit = sobol_sample.sample(unit_hypercube_problem(names), samples, calc_second_order=False, scramble=True, seed=rng)
    values = np.column_stack([p.values(unit[:, j]) for j, p in enumerate(evaluator.parameters)])
    evaluator.prepare(values)
    return Design(samples, unit, values)


def run_study(evaluator: Evaluator, points: Design, pool, *, seed: int, resamples: int = 1000,
              confidence: float = 0.95, progress: bool = False, on_chunk: Callable[[], None] | None = None) -> Study:
    """Evaluate the prepared points on `pool`, then each KPI's indices."""
    outputs = evaluator.evaluate(pool, progress=progress, on_chunk=on_chunk)
    names = [p.name for p in evaluator.parameters]
    boot_seed = int(np.random.SeedSequence(seed, spawn_key=_BOOTSTRAP_KEY).generate_state(1)[0])
    indices = {kpi: analyze(names, outputs[kpi], resamples=resamples, confidence=confidence, seed=boot_seed)
               for kpi in evaluator.kpis}
    return Study(evaluator.model, names, evaluator.kpis, points, outputs, indices, evaluator.replicas, seed,
                 confidence, resamples)


def analyze(names: list[str], outputs: np.ndarray, *, resamples: int, confidence: float, seed: int) -> Indices:
    """Indices of the replica means of `outputs` (point, replica) over Saltelli's points."""
    from SALib.analyze import sobol as sobol_analyze

    y = outputs.mean(axis=1)
    variance = float(np.var(y, ddof=1))
    noise = noise_share(outputs, variance)
    nan = np.full(len(names), np.nan)
    undefined = int(np.sum(~np.isfinite(y)))
    if undefined:
        return Indices(nan, nan, nan, nan, float("nan"), float("nan"),
                       f"undefined: no value at {undefined} of {len(y)} points")
    if not variance > 0.0:
        return Indices(nan, nan, nan, nan, variance, noise, "constant over the sample: nothing to explain")
    res = sobol_analyze.analyze(unit_hypercube_problem(names), y, calc_second_order=False, num_resamples=resamples,
                                conf_level=confidence, seed=seed)
    return Indices(np.asarray(res["S1"]), np.asarray(res["S1_conf"]), np.asarray(res["ST"]),
                   np.asarray(res["ST_conf"]), variance, noise)


def noise_share(outputs: np.ndarray, variance: float) -> float:
    """Replica noise in the KPI means as a fraction of their variance over the points; NaN for one replica."""
    replicas = outputs.shape[1]
    if replicas < 2 or not variance > 0.0 or not np.all(np.isfinite(outputs)):
        return float("nan")
    within = float(np.mean(np.var(outputs, axis=1, ddof=1)))
    return within / replicas / variance
