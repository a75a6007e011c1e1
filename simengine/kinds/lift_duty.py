"""The crane's duty: container lifts drawn per crane and day, and their statistics.

Drawn up front from the duty's own random stream, served for any window
deterministically: a window re-predicted after a repair, or a forecast of when a
crack would have failed, sees the same loads as the run itself.
Units: hours for time, MPa for stress, W for heat, °C for temperature.
"""

from __future__ import annotations

import math

import numpy as np

from simengine.kinds.crane import LiftDutyConfig
from simengine.kinds.seasons import ambient_C
from simengine.physics.asset import AssetInputs
from simengine.units import DAYS_PER_YEAR, SECONDS_PER_DAY


class LiftDuty:
    """Container lifts of quay cranes, drawn per crane and day.

    A day's traffic intensity u ~ Gamma(mean 1, cv) (ship calls); lifts in load
    class k are Poisson(λ u p_k) with λ the expected lifts a day (an exact
    compound-Poisson day). Each lift is one stress cycle Δσ_k = s·load_k at
    the joint. A day's lifts are spread evenly over its 24 hours: since the
    Paris integral depends only on ΣΔσ^m, crack length is exact at day
    boundaries and interpolated within a day.
    """

    def __init__(self, cfg: LiftDutyConfig, n_assets: int, horizon_h: float, paris_m: float,
                 endurance_cycles, rng: np.random.Generator):
        days = int(math.ceil(horizon_h / 24.0))
        loads = np.asarray(cfg.load_classes_t)
        probs = np.asarray(cfg.load_probs)
        lam = cfg.lifts_per_h * cfg.operating_hours_per_year / DAYS_PER_YEAR
        if cfg.traffic_cv > 0:
            k = 1.0 / cfg.traffic_cv**2
            intensity = rng.gamma(k, 1.0 / k, (days, n_assets))
        else:
            intensity = np.ones((days, n_assets))
        counts = rng.poisson(lam * intensity[..., None] * probs).astype(float)  # (days, n, K)
        stress = cfg.stress_per_t_MPa * loads
        self.cfg = cfg
        self.driver_day = counts @ stress**paris_m  # Σ Δσ^m, MPa^m
        # endurance_cycles: (n_assets, K) cycles to failure of each class per asset
        self.miner_day = np.einsum("dnk,nk->dn", counts, 1.0 / endurance_cycles)
        tonnes = counts @ loads
        self.heat_day_W = cfg.heat_J_per_t * tonnes / SECONDS_PER_DAY
        self.load_factor_day = tonnes / 24.0 / (cfg.lifts_per_h * cfg.rated_load_t)
        self.lifts_day = counts.sum(-1)
        self.stress_ranges_MPa = stress

    def inputs(self, t0_h: float, n_rows: int, dt_h: float) -> AssetInputs:
        t_mid = t0_h + (np.arange(n_rows) + 0.5) * dt_h
        day = np.minimum((t_mid // 24.0).astype(int), self.driver_day.shape[0] - 1)
        share = dt_h / 24.0
        amb = ambient_C(t_mid, self.cfg.ambient_mean_C, self.cfg.ambient_amplitude_C)
        return AssetInputs(
            paris_driver=self.driver_day[day] * share,
            miner_increment=self.miner_day[day] * share,
            heat_W=self.heat_day_W[day],
            ambient_C=np.broadcast_to(amb[:, None], (n_rows, self.driver_day.shape[1])),
            load_factor=self.load_factor_day[day],
        )


def _lift_moments(lifts: LiftDutyConfig, paris_m: float):
    """Lifts a day λ, and the mean and mean square of one lift's Δσ^m."""
    lam = lifts.lifts_per_h * lifts.operating_hours_per_year / DAYS_PER_YEAR  # as `LiftDuty`: the year's lifts, every day
    x = (lifts.stress_per_t_MPa * np.asarray(lifts.load_classes_t)) ** paris_m
    p = np.asarray(lifts.load_probs)
    return lam, float(p @ x), float(p @ x**2)


def expected_driver_per_s(lifts: LiftDutyConfig, paris_m: float) -> float:
    """Mean driver Σ Δσ^m per second (MPa^m/s) of a lift duty: λ Σ_k p_k (s L_k)^m / 86400."""
    lam, ex, _ = _lift_moments(lifts, paris_m)
    return lam * ex / SECONDS_PER_DAY


def driver_cv_per_day(lifts: LiftDutyConfig, paris_m: float) -> float:
    """Relative sd of a day's driver: gamma traffic times compound-Poisson lifts,
    cv² = traffic_cv² + E[X²] / (λ E[X]²) with X = Δσ^m of one lift."""
    lam, ex, ex2 = _lift_moments(lifts, paris_m)
    return math.sqrt(lifts.traffic_cv**2 + ex2 / (lam * ex**2))
