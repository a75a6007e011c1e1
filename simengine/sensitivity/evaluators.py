"""What a sensitivity study evaluates at its sample points: the engine's scenario, or a closed-form test function.

An evaluator holds its parameters and KPIs, checks every sample point before
anything runs (`prepare`), and evaluates them on a pool (`evaluate`), giving
each KPI as an array (point, replica). The Sobol pipeline sees only this, so
the Ishigami function, whose indices are known in closed form, checks the
same sampling, pool, analysis and output as an engine study.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from simengine.config.sensitivity import SobolParameter
from simengine.sensitivity.parameters import Parameter, scenario_at


class Evaluator(Protocol):
    model: str
    parameters: list[Parameter]
    kpis: tuple[str, ...]
    replicas: int

    def prepare(self, values: np.ndarray) -> None:
        """Check every sample point (rows of `values`, one column per parameter); ConfigError if one is refused."""

    def evaluate(self, pool, *, progress: bool = False, on_chunk: Callable[[], None] | None = None
                 ) -> dict[str, np.ndarray]:
        """KPI -> array (point, replica) at the prepared points."""


class EngineEvaluator:
    """Scenario variants, one per sample point, run by `batch.variants.run_variants`: every (point, replica) on one
    pool, replica i of every point with the same seeds (common random numbers)."""

    model = "engine"

    def __init__(self, plain_scenario: Mapping, parameters: list[Parameter], kpis: tuple[str, ...], *,
                 replicas: int, seed: int, chunk: int | None = None):
        self.plain_scenario = plain_scenario
        self.parameters = parameters
        self.kpis = tuple(kpis)
        self.replicas = replicas
        self.seed = seed
        self.chunk = chunk
        self._scenarios: list = []

    def prepare(self, values: np.ndarray) -> None:
        names = [p.name for p in self.parameters]
        self._scenarios = [
            scenario_at(self.plain_scenario, self.parameters, row,
                        "at sample point " + ", ".join(f"{n}={v:g}" for n, v in zip(names, row)))
            for row in values]

    def evaluate(self, pool, *, progress: bool = False, on_chunk: Callable[[], None] | None = None
                 ) -> dict[str, np.ndarray]:
        from simengine.batch.variants import run_variants

        kpis = run_variants(self._scenarios, replicas=self.replicas, seed=self.seed, pool=pool, chunk=self.chunk,
                            progress=progress, on_chunk=on_chunk)
        return {name: kpis[name] for name in self.kpis}


# --- Ishigami: a closed form with known indices ------------------------------------------------------

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
ISHIGAMI_CHUNK = 4096  # points per task


def ishigami(x: np.ndarray, a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> np.ndarray:
    """f(x) = sin x1 + a sin² x2 + b x3⁴ sin x1, rows of x in [-π, π]³ (Ishigami & Homma 1990)."""
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_indices(a: float = ISHIGAMI_A, b: float = ISHIGAMI_B) -> dict[str, np.ndarray]:
    """The exact first-order and total indices of x1, x2, x3 for inputs uniform on [-π, π]
    (Sobol' & Levitan 1999): V1 = ½(1 + bπ⁴/5)², V2 = a²/8, V13 = 8b²π⁸/225, V3 = 0."""
    pi = math.pi
    v1 = 0.5 * (1.0 + b * pi**4 / 5.0) ** 2
    v2 = a**2 / 8.0
    v13 = 8.0 * b**2 * pi**8 / 225.0
    v = v1 + v2 + v13
    return {"S1": np.array([v1, v2, 0.0]) / v, "ST": np.array([v1 + v13, v2, v13]) / v}


def ishigami_chunk(x: np.ndarray) -> np.ndarray:
    """The task a pool runs: the function at a block of points."""
    return ishigami(x)


class IshigamiEvaluator:
    """The Ishigami function, x1, x2, x3 uniform on [-π, π], one KPI `y`, no replica noise."""

    model = "ishigami"
    kpis = ("y",)
    replicas = 1

    def __init__(self):
        bounds = SobolParameter(lower=-math.pi, upper=math.pi)
        self.parameters = [Parameter(f"x{i}", (), bounds, False) for i in (1, 2, 3)]
        self._values = np.empty((0, 3))

    def prepare(self, values: np.ndarray) -> None:
        self._values = np.asarray(values, dtype=float)

    def evaluate(self, pool, *, progress: bool = False, on_chunk: Callable[[], None] | None = None
                 ) -> dict[str, np.ndarray]:
        starts = range(0, len(self._values), ISHIGAMI_CHUNK)
        y = np.full(len(self._values), np.nan)
        for k, block in pool.imap(ishigami_chunk, [(self._values[s:s + ISHIGAMI_CHUNK],) for s in starts]):
            y[starts[k]:starts[k] + len(block)] = block
            if on_chunk is not None:
                on_chunk()
        return {"y": y[:, None]}
