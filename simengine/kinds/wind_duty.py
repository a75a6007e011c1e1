"""The wind turbine's duty: one farm weather, hour by hour, and the sea state that decides access.

Drawn up front from the duty's own random stream, served for any window deterministically.
Units: hours for time, m/s for wind, MPa for stress, W for heat, m for waves, °C.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter
from scipy.special import ndtr

from simengine.config.scenario import Scatter
from simengine.engine.sampling import draw_scatter
from simengine.kinds.seasons import ambient_C
from simengine.kinds.wind import WindDutyConfig
from simengine.physics.asset import AssetInputs


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
        amb = ambient_C(t_mid, c.ambient_mean_C, c.ambient_amplitude_C)
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
