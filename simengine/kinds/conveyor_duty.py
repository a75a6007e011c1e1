"""The belt conveyor's duty: shifts of running, the line's feed hour by hour, and the drive pulley
bearings' fatigue life.

Drawn up front from the duty's own random stream, served for any window deterministically.
Units: hours for time, kN for bearing loads, W for heat, °C for temperature.
"""

from __future__ import annotations

import math

import numpy as np

from simengine.config.scenario import Scatter
from simengine.kinds.conveyor import ConveyorDutyConfig
from simengine.kinds.seasons import ambient_C
from simengine.kinds.wind_duty import _ar1
from simengine.physics.asset import AssetInputs
from simengine.scatter import draw_scatter

# ISO 281:2007 reliability factor a1 = 0.95 (ln R / ln 0.9)^(1/e) + 0.05: a Weibull life of slope e = 1.5
# above a guaranteed 5 % of L10; it reproduces the standard's table (R = 95 %: 0.64, 99 %: 0.25).
WEIBULL_SLOPE = 1.5
MINIMUM_LIFE = 0.05


def life_factors(n_assets: int, bearings: int, rng: np.random.Generator) -> np.ndarray:
    """Each pulley's life in units of the bearings' L10: the shortest of its bearings' lives, each
    L = a1(R) L10 for a survival probability R drawn uniformly (ISO 281's reliability factor)."""
    survival = rng.random((n_assets, bearings))
    each = MINIMUM_LIFE + (1.0 - MINIMUM_LIFE) * (np.log(survival) / math.log(0.9)) ** (1.0 / WEIBULL_SLOPE)
    return each.min(axis=1)


class ConveyorDuty:
    """Belt conveyors on one production line, hour by hour.

    The line runs its shifts on its running days (an hour runs if its start lies in a shift).
    While it runs, the line's feed is lognormal around ``mean_fill`` with an hourly AR(1)
    log-deviation; each conveyor carries a fixed share of it (a factor of median 1), and no belt
    carries more than ``max_fill``. The drive's power is the empty-running power plus the
    material's share, ``load_factor = e + (1 - e) fill``, and its losses heat the drive. The
    pulley bearings' equivalent load P rises linearly with the fill; each running hour
    consumes n / L10(P) of their basic rating life (Miner's rule over the load spectrum, which
    is ISO 281's mean equivalent load), divided by the pulley's drawn life factor and a_ISO, so
    ``damage`` reaches 1 when its first bearing spalls. Nothing loads a crack.
    """

    def __init__(self, cfg: ConveyorDutyConfig, n_assets: int, horizon_h: float, rng: np.random.Generator):
        hours = int(math.ceil(horizon_h)) + 1
        self.cfg = cfg
        self.life_factor = life_factors(n_assets, cfg.bearings, rng)
        self.conveyor_factor = draw_scatter(Scatter(1.0, cfg.conveyor_scatter_cv), rng, n_assets)
        sigma = math.sqrt(math.log1p(cfg.fill_cv**2))
        z = _ar1(hours, cfg.hourly_autocorrelation, rng)
        self.line_fill = cfg.mean_fill / math.sqrt(1.0 + cfg.fill_cv**2) * np.exp(sigma * z)
        self.running = running_hours(cfg, hours)

    def fill(self, hour: np.ndarray) -> np.ndarray:
        """Material load of each conveyor (fraction of rated capacity) in the hours `hour` (n_rows,)."""
        fill = np.minimum(self.line_fill[hour][:, None] * self.conveyor_factor[None, :], self.cfg.max_fill)
        return fill * self.running[hour][:, None]

    def inputs(self, t0_h: float, n_rows: int, dt_h: float) -> AssetInputs:
        c = self.cfg
        t_mid = t0_h + (np.arange(n_rows) + 0.5) * dt_h
        hour = np.minimum(t_mid.astype(int), self.running.size - 1)
        on = self.running[hour][:, None].astype(float)
        fill = self.fill(hour)
        load = on * (c.empty_power_fraction + (1.0 - c.empty_power_fraction) * fill)
        per_running_h = c.revolutions_per_h * (c.bearing_load(fill) / c.bearing_C_kN) ** c.life_exponent / 1.0e6
        amb = ambient_C(t_mid, c.ambient_mean_C, c.ambient_amplitude_C)
        return AssetInputs(
            paris_driver=np.zeros(load.shape),
            miner_increment=on * dt_h * per_running_h / (c.life_modification * self.life_factor[None, :]),
            heat_W=c.drive_loss_fraction * c.rated_power_W * load,
            ambient_C=np.broadcast_to(amb[:, None], load.shape),
            load_factor=load,
        )


def running_hours(cfg: ConveyorDutyConfig, hours: int) -> np.ndarray:
    """Whether the line runs in each hour from t = 0 (a Monday, 00:00): its start lies in a shift on a
    running day."""
    t = np.arange(hours)
    of_day = t % 24
    in_shift = np.zeros(hours, bool)
    for start, end in cfg.shifts:
        in_shift |= (of_day >= start) & (of_day < end)
    return in_shift & ((t // 24) % 7 < cfg.running_days_per_week)
