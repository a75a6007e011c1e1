"""Asset-to-asset (and replica-to-replica) scatter of a parameter: lognormal around a median.

One draw for the whole package, so that the engine, the calibration and the
standalone fatigue toolkit turn the same seed into the same values. It needs
NumPy only: the fatigue toolkit draws with it without loading the engine.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from simengine.config.scenario import Scatter


def draw_scatter(scatter: Scatter, rng: np.random.Generator, size: int) -> np.ndarray:
    """Lognormal asset-to-asset scatter around `median`; cv = 0 gives the median exactly."""
    if scatter.cv == 0.0 or scatter.median == 0.0:
        return np.full(size, scatter.median)
    sigma = math.sqrt(math.log1p(scatter.cv**2))
    return scatter.median * np.exp(sigma * rng.standard_normal(size))
