"""A crane's lift cycle within the hour, as the virtual PLC plays it at its scans.

The duty (`simengine.kinds.lift_duty.LiftDuty`) gives each hour's mean loads; a PLC
scanning every second sees the lifts themselves. Each cycle of 3600/lifts_per_h s
the hoist lifts for the first half, with the container's load on the boom and motor
losses proportional to it (the rated-load heat at rated load), and returns empty for
the second. Each lift draws its load class. A scan as long as a cycle or longer sees
the mean over whole cycles: the hour's heat, the load on the boom half the time.
Units: s for time, t for loads, W for heat.
"""

from __future__ import annotations

import numpy as np

from simengine.kinds.crane import LiftDutyConfig


class LiftCycle:
    """The lifts of `n_assets` cranes; `lift` is the number of the current lift cycle from t = 0 (-1: none
    yet) and `lift_t` (n_assets,) its loads, t (the hidden truth a test may compare with)."""

    def __init__(self, settings: LiftDutyConfig, n_assets: int, rng: np.random.Generator,
                 heat_at_rated_load_W: float):
        self.cfg, self.rng, self.heat_at_rated_load_W = settings, rng, heat_at_rated_load_W
        self.period_s = 3600.0 / settings.lifts_per_h
        self.lift, self.lift_t = -1, np.zeros(n_assets)

    def inputs(self, t_s: float, dt_s: float, hourly: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if dt_s >= self.period_s:  # the mean over whole lift cycles, of which the load is on the boom for half
            return {**hourly, "load_factor": 0.5 * hourly["load_factor"]}
        c = self.cfg
        lift = int(t_s // self.period_s)
        if lift != self.lift:  # a new lift: its load class (drawn once, however often its scans ask)
            self.lift = lift
            self.lift_t = self.rng.choice(np.asarray(c.load_classes_t), size=self.lift_t.size,
                                          p=np.asarray(c.load_probs))
        lifting = (t_s % self.period_s) < self.period_s / 2
        load = self.lift_t / c.rated_load_t
        heat = self.heat_at_rated_load_W * load * lifting_share(t_s, dt_s, self.period_s)
        return {**hourly, "heat_W": heat, "load_factor": load if lifting else np.zeros(load.size)}


def lifting_share(t0_s: float, dt_s: float, period_s: float) -> float:
    """Share of [t0, t0 + dt] spent in the lifting (first) half of lift cycles of `period_s`."""
    def lifted_until(t):  # lifting time in [0, t]
        return np.floor(t / period_s) * period_s / 2 + min(t % period_s, period_s / 2)

    return float((lifted_until(t0_s + dt_s) - lifted_until(t0_s)) / dt_s)
