"""The seasonal ambient temperature every outdoor duty shares."""

from __future__ import annotations

import numpy as np

from simengine.units import HOURS_PER_YEAR


def ambient_C(t_h: np.ndarray, mean: float, amplitude: float) -> np.ndarray:
    """Seasonal ambient temperature (°C) at times `t_h` (h), warmest in late July."""
    return mean + amplitude * np.sin(2.0 * np.pi * (t_h / HOURS_PER_YEAR - 0.30))
