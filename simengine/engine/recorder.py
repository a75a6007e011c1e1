"""Time series of selected assets' physics state, sampled from the window trajectories."""

from __future__ import annotations

import numpy as np

SERIES = {"crack_m": ("crack_length_m", "m"), "temp_C": ("temperature_C", "degC"),
          "damage": ("miner_damage", "1"), "wear": ("wear", "1")}


class Recorder:
    """Samples recorded assets every `interval_h` from a window's boundary states.

    Called when a window is finished (its trajectory then includes any resets),
    so what is recorded is what happened.
    """

    def __init__(self, assets: np.ndarray, interval_h: float, horizon_h: float):
        self.assets, self.interval_h, self.horizon_h = assets, interval_h, horizon_h
        self._times: list[np.ndarray] = []
        self._values: dict[str, list[np.ndarray]] = {f: [] for f in SERIES}

    def __call__(self, physics, row0: int) -> None:
        W, dt = physics.W, physics.dt_h
        times = (row0 + np.arange(W + 1)) * dt
        pick = (np.abs(np.remainder(times + 1e-9, self.interval_h)) < 1e-6) & (times <= self.horizon_h + 1e-9)
        if row0 > 0:
            pick[0] = False  # the previous window's last row
        self._times.append(times[pick])
        for f in SERIES:
            self._values[f].append(physics.boundary[f][pick][:, self.assets])

    def arrays(self) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, str]]:
        times = np.concatenate(self._times) if self._times else np.zeros(0)
        series = {SERIES[f][0]: np.concatenate(v) if v else np.zeros((0, self.assets.size)) for f, v in self._values.items()}
        units = {SERIES[f][0]: SERIES[f][1] for f in SERIES}
        return times, series, units
