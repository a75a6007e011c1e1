"""Settings of a global sensitivity study (`simengine sensitivity`): parameters, KPIs, sample size, executor.

A parameter is a scenario field (dotted key, e.g. ``policy.inspection.interval_h``)
with a distribution on a bounded range; every distribution has bounds so that
every sample point is a scenario the engine accepts, and so that the bounds
can be checked before anything runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simengine.config.run import EXECUTOR_CHOICES, Execution
from simengine.config.validate import spec

DISTRIBUTIONS = ("uniform", "loguniform", "triangular", "truncnormal")
MODELS = ("engine", "ishigami")
SENSITIVITY_KEYS = ("model", "parameters", "kpis", "samples", "replicas", "seed", "resamples", "confidence",
                    "executor", "workers", "dask", "chunk", "out_dir", "plots", "progress")


@dataclass(frozen=True)
class SobolParameter:
    """One input of the study: a scenario field drawn from `dist` on [lower, upper] (the field's unit)."""

    lower: float | None = spec(None, doc="lowest value; required")
    upper: float | None = spec(None, doc="highest value; required, > lower")
    dist: str = spec("uniform", choices=DISTRIBUTIONS,
                     doc="uniform | loguniform (lower > 0) | triangular (mode) | truncnormal (mean, sd) on [lower, upper]")
    mode: float | None = spec(None, doc="triangular: the most likely value, in [lower, upper]")
    mean: float | None = spec(None, doc="truncnormal: mean of the untruncated normal")
    sd: float | None = spec(None, gt=0.0, doc="truncnormal: sd of the untruncated normal")

    def check(self):
        problems = []
        for name in ("lower", "upper"):
            value = getattr(self, name)
            if value is None:
                problems.append((name, None, "required: a Sobol parameter ranges over [lower, upper]"))
            elif not math.isfinite(value):
                problems.append((name, value, "must be finite"))
        if problems:
            return problems
        if not self.lower < self.upper:
            return [("upper", self.upper, f"must be > lower ({self.lower})")]
        if self.dist == "loguniform" and self.lower <= 0.0:
            problems.append(("lower", self.lower, "must be > 0 for dist=loguniform"))
        if self.dist == "triangular" and (self.mode is None or not self.lower <= self.mode <= self.upper):
            problems.append(("mode", self.mode, f"dist=triangular needs a mode in [lower, upper] = [{self.lower}, {self.upper}]"))
        if self.dist == "truncnormal":
            if self.mean is None:
                problems.append(("mean", None, "required for dist=truncnormal"))
            if self.sd is None:
                problems.append(("sd", None, "required for dist=truncnormal"))
        return problems


@dataclass(frozen=True)
class SensitivitySettings(Execution):
    model: str = spec("engine", choices=MODELS, doc="engine: the scenario; ishigami: the closed-form test function")
    parameters: dict[str, SobolParameter] = spec(default_factory=dict, doc="dotted scenario key -> range")
    kpis: tuple[str, ...] = spec(default_factory=lambda: ("total_cost_eur",), doc="KPIs to explain")
    samples: int = spec(32, ge=2, doc="N, the base sample size, a power of 2; N·(D+2) points are run")
    replicas: int = spec(2, ge=1, doc="Monte Carlo replicas per sample point (common random numbers)")
    seed: int = spec(0, ge=0)
    resamples: int = spec(1000, ge=10, doc="bootstrap resamples for the confidence intervals")
    confidence: float = spec(0.95, gt=0.0, lt=1.0)
    executor: str = spec("processes", choices=EXECUTOR_CHOICES)  # a study is many small runs: a pool by default

    def check(self):
        problems = []
        if self.samples & (self.samples - 1):
            below = 1 << (self.samples.bit_length() - 1)
            problems.append(("samples", self.samples,
                             f"must be a power of 2 (Sobol' sequence balance), e.g. {below} or {below * 2}"))
        if self.model == "engine" and not self.parameters:
            problems.append(("parameters", {}, "needs at least one scenario field with lower and upper"))
        if self.model == "engine" and not self.kpis:
            problems.append(("kpis", [], "needs at least one KPI to explain"))
        return problems
