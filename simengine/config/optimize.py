"""Settings of `simengine optimize`: the decision variables, what to minimise or maximise, under which limits.

The keys sit at the top level of ``conf/optimize.yaml`` beside the scenario's
(as `simengine run`'s ``replicas`` and ``seed`` do). Whether a variable names
a field of the scenario is checked against the scenario itself
(:mod:`simengine.optimize.space`), not here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from simengine.config.run import Execution
from simengine.config.validate import spec
from simengine.engine.kpis import KPIS

OPTIMIZE_KEYS = ("variables", "objective", "direction", "constraints", "trials", "batch", "replicas", "seed",
                 "executor", "workers", "dask", "chunk", "out_dir", "plots", "progress")
CONSTRAINT_FORM = "expected '<kpi> >= <number>' or '<kpi> <= <number>', e.g. 'availability>=0.98'"
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(>=|<=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Variable:
    """A decision variable's range: `low`..`high` (with a `step`, or searched in `log` scale), or `choices`."""

    low: float | None = spec(None, doc="lowest value searched")
    high: float | None = spec(None, doc="highest value searched")
    step: float | None = spec(None, gt=0.0, doc="grid spacing from low; null: continuous (integers: 1)")
    log: bool = spec(False, doc="search the logarithm (for ranges over decades); low > 0")
    choices: tuple[float, ...] | None = spec(None, doc="the values to try, instead of a range")

    def check(self):
        if self.choices is not None:
            given = [k for k in ("low", "high", "step") if getattr(self, k) is not None] + (["log"] if self.log else [])
            if given:
                return [(given[0], getattr(self, given[0]), "give either choices or a range (low, high), not both")]
            if not self.choices:
                return [("choices", [], "needs at least one value")]
            return []
        missing = [(k, None, "required for a range (or give choices)") for k in ("low", "high") if getattr(self, k) is None]
        if missing:
            return missing
        if not self.low < self.high:
            return [("low", self.low, f"must be < high ({self.high})")]
        if self.log and self.step is not None:
            return [("step", self.step, "a log-scale variable takes no step")]
        if self.log and self.low <= 0.0:
            return [("low", self.low, "must be > 0 on a log scale")]
        return []


@dataclass(frozen=True)
class Constraint:
    """`kpi` `op` `bound`, on the KPI's mean over the replicas."""

    kpi: str
    op: str  # ">=" or "<="
    bound: float

    def violation(self, value: float) -> float:
        """How far `value` lies outside the limit (<= 0: met); NaN counts as far outside."""
        if math.isnan(value):
            return math.inf
        return self.bound - value if self.op == ">=" else value - self.bound

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {self.bound:g}"


def parse_constraint(text: str) -> Constraint | str:
    """The constraint `text` says, or the rule it breaks."""
    match = _CONSTRAINT.match(text)
    if match is None:
        return CONSTRAINT_FORM
    kpi, op, bound = match.group(1), match.group(2), float(match.group(3))
    if kpi not in KPIS:
        return f"unknown KPI {kpi!r}; known: {', '.join(KPIS)}"
    return Constraint(kpi, op, bound)


@dataclass(frozen=True)
class OptimizeSettings(Execution):
    variables: dict[str, Variable] = spec(default_factory=dict,
                                          doc="dotted scenario key (list items by index or name) -> its range")
    objective: str = spec("total_cost_eur", choices=tuple(KPIS), doc="the KPI whose mean is optimised")
    direction: str = spec("minimize", choices=("minimize", "maximize"))
    constraints: tuple[str, ...] = spec(default_factory=tuple, doc="limits on KPI means, e.g. 'availability>=0.98'")
    trials: int = spec(24, ge=1, doc="settings tried (a repeated setting is not simulated again)")
    batch: int = spec(4, ge=1, doc="trials proposed together and run as one pool of tasks; "
                                   "part of the search, so the same on every executor")
    replicas: int = spec(8, ge=2, doc="replicas per trial; every trial runs the same replica seeds")
    seed: int = spec(0, ge=0, doc="seeds the replicas and the sampler")

    def check(self):
        problems = []
        if not self.variables:
            problems.append(("variables", {}, "name at least one decision variable, e.g. "
                                              "{policy.inspection.interval_h: {low: 720, high: 8760}}"))
        for i, text in enumerate(self.constraints):
            parsed = parse_constraint(text)
            if isinstance(parsed, str):
                problems.append((f"constraints[{i}]", text, parsed))
        return problems

    def parsed_constraints(self) -> list[Constraint]:
        return [parse_constraint(text) for text in self.constraints]
