"""Duty cycles: what each asset goes through, turned into physics inputs per interval.

A duty model draws its whole horizon up front in compact form (per day for
crane lifts, per hour for the shared weather of a wind farm) from its own
random stream, then serves any window of intervals deterministically. So a
window re-predicted after a repair, or a forecast of when a crack would have
failed, sees the same loads as the run itself.

Units: hours for time, MPa for stress, W for heat, °C for temperature.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtr

from simengine.config.scenario import LiftDutyConfig, WindDutyConfig
from simengine.engine.sampling import draw_scatter
from simengine.config.scenario import Scatter
from simengine.physics.asset import AssetInputs

_HOURS_PER_YEAR = 8760.0


def _ambient_C(t_h: np.ndarray, mean: float, amplitude: float) -> np.ndarray:
    """Seasonal ambient temperature, warmest in late July."""
    return mean + amplitude * np.sin(2.0 * np.pi * (t_h / _HOURS_PER_YEAR - 0.30))


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
        lam = cfg.lifts_per_h * cfg.operating_hours_per_year / 365.0
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
        self.heat_day_W = cfg.heat_J_per_t * tonnes / 86400.0
        self.load_factor_day = tonnes / 24.0 / (cfg.lifts_per_h * cfg.rated_load_t)
        self.lifts_day = counts.sum(-1)
        self.stress_ranges_MPa = stress

    def inputs(self, t0_h: float, n_rows: int, dt_h: float) -> AssetInputs:
        t_mid = t0_h + (np.arange(n_rows) + 0.5) * dt_h
        day = np.minimum((t_mid // 24.0).astype(int), self.driver_day.shape[0] - 1)
        share = dt_h / 24.0
        amb = _ambient_C(t_mid, self.cfg.ambient_mean_C, self.cfg.ambient_amplitude_C)
        return AssetInputs(
            paris_driver=self.driver_day[day] * share,
            miner_increment=self.miner_day[day] * share,
            heat_W=self.heat_day_W[day],
            ambient_C=np.broadcast_to(amb[:, None], (n_rows, self.driver_day.shape[1])),
            load_factor=self.load_factor_day[day],
        )


class WindDuty:
    """Wind turbines under one farm weather, hour by hour.

    Hub wind speed: a Gaussian AR(1) z_t mapped onto a Weibull marginal,
    U = c (-ln Φ(-z))^(1/k); each turbine sees U times a fixed factor (wake,
    site). Power fraction p = ((U - U_in)/(U_r - U_in))³ capped at 1, zero
    outside [U_in, U_out). Blade-root cycles: n per hour while the rotor turns,
    range Δσ = s_g + s_a min(U/U_r, 1)² (gravity plus thrust). Gearbox losses
    heat the gearbox. Significant wave height is lognormal AR(1): it decides
    when crews can go offshore.
    """

    def __init__(self, cfg: WindDutyConfig, n_assets: int, horizon_h: float, paris_m: float,
                 sn_curve_fn, strength_factor: np.ndarray, rng: np.random.Generator):
        hours = int(math.ceil(horizon_h)) + 1
        self.cfg = cfg
        self.wind_m_s = self._weibull_ar1(cfg, hours, rng)
        self.turbine_factor = draw_scatter(Scatter(1.0, cfg.turbine_scatter_cv), rng, n_assets)
        sigma = math.sqrt(math.log1p(cfg.wave_cv**2))
        z = _ar1(hours, cfg.hourly_autocorrelation, rng)
        self.wave_height_m = cfg.mean_wave_height_m / math.sqrt(1 + cfg.wave_cv**2) * np.exp(sigma * z)
        self._paris_m = paris_m
        self._endurance = sn_curve_fn
        self._strength = strength_factor

    @staticmethod
    def _weibull_ar1(cfg: WindDutyConfig, hours: int, rng) -> np.ndarray:
        z = _ar1(hours, cfg.hourly_autocorrelation, rng)
        scale = cfg.mean_wind_m_s / math.gamma(1.0 + 1.0 / cfg.weibull_k)
        return scale * (-np.log(ndtr(-z))) ** (1.0 / cfg.weibull_k)

    def inputs(self, t0_h: float, n_rows: int, dt_h: float) -> AssetInputs:
        c = self.cfg
        t_mid = t0_h + (np.arange(n_rows) + 0.5) * dt_h
        hour = np.minimum(t_mid.astype(int), self.wind_m_s.size - 1)
        u = self.wind_m_s[hour][:, None] * self.turbine_factor[None, :]
        turning = (u >= c.cut_in_m_s) & (u < c.cut_out_m_s)
        power = np.where(turning, np.clip((u - c.cut_in_m_s) / (c.rated_m_s - c.cut_in_m_s), 0.0, 1.0) ** 3, 0.0)
        cycles = c.rotor_cycles_per_h * dt_h * turning
        stress = c.blade_stress_MPa[0] + c.blade_stress_MPa[1] * np.minimum(u / c.rated_m_s, 1.0) ** 2
        amb = _ambient_C(t_mid, c.ambient_mean_C, c.ambient_amplitude_C)
        return AssetInputs(
            paris_driver=cycles * stress**self._paris_m,
            miner_increment=cycles / (self._endurance(stress) * self._strength[None, :]),
            heat_W=c.gearbox_loss_fraction * c.rated_power_W * power,
            ambient_C=np.broadcast_to(amb[:, None], u.shape),
            load_factor=power,
        )


def _ar1(n: int, rho: float, rng: np.random.Generator) -> np.ndarray:
    """Stationary standard-normal AR(1) series of length n."""
    eps = rng.standard_normal(n)
    eps[0] /= math.sqrt(1.0 - rho**2)  # start in the stationary distribution
    return lfilter([math.sqrt(1.0 - rho**2)], [1.0, -rho], eps)
