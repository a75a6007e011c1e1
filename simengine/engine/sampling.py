"""Random durations and per-asset scatter, drawn from a `numpy.random.Generator` passed in."""

from __future__ import annotations

import math

import numpy as np

from simengine.config.scenario import Distribution
from simengine.scatter import draw_scatter  # noqa: F401  (the engine's callers import it from here)


def draw(dist: Distribution, rng: np.random.Generator, size=None):
    """Durations (hours) from `dist`; every kind is parameterised by its mean."""
    if dist.kind == "exponential":
        return rng.exponential(dist.mean, size)
    if dist.kind == "weibull":
        scale = dist.mean / math.gamma(1.0 + 1.0 / dist.shape)
        return scale * rng.weibull(dist.shape, size)
    if dist.kind == "lognormal":
        sigma2 = math.log1p(dist.cv**2)
        return rng.lognormal(math.log(dist.mean) - sigma2 / 2.0, math.sqrt(sigma2), size)
    return np.full(size, dist.mean) if size is not None else dist.mean


class DrawBuffer:
    """Scalar draws served from vectorised blocks.

    A numpy scalar draw costs ~1 µs of call overhead, as much as a SimPy event;
    the engine draws hundreds of thousands of lifetimes, so it draws 1024 at a
    time. The sequence is fixed by the generator's seed as before.
    """

    __slots__ = ("_dist", "_rng", "_block", "_next")

    def __init__(self, dist: Distribution, rng: np.random.Generator):
        self._dist, self._rng = dist, rng
        self._block: list[float] = []
        self._next = 0

    def __call__(self) -> float:
        if self._next == len(self._block):
            self._block = draw(self._dist, self._rng, 1024).tolist()
            self._next = 0
        value = self._block[self._next]
        self._next += 1
        return value
