"""Track the hidden crack of one welded joint, and learn its Paris coefficient, from its natural frequency.

An extended Kalman filter (exact Jacobians by `jax.jacfwd`, float64) over the state

    x = [a, ln C, b]     a: crack depth (m), C: Paris coefficient, b: frequency offset (Hz)

Process (`predict(dt_s, driver)`, driver D = Σ Δσ^m of the interval's cycles, MPa^m):

    a' = paris_block(a, D, e^(ln C), m, Y)          (exact Paris–Erdogan, `simengine.physics.crack`)
    ln C' = ln C + w_C,    Var w_C = q_C dt            (a slow random walk: model error, a changed spectrum)
    b' = b

The driver is known only in the mean: traffic scatters from day to day (gamma, cv ≈ 0.3) and the lifts of a
day are Poisson. Its cumulative sum is modelled as a Brownian motion about the mean, so that its relative sd
over the reference period T (a day) is `driver_cv`, and over an interval dt

    Var D = (cv D)² T/dt       (variance linear in time: right over whole days; a day's hours share its
                                traffic, so over k < 24 of them the truth is (k/24)² (cv D_day)², less)

and enters a through ∂a'/∂D. `simengine.kinds.lift_duty.driver_cv_per_day` gives cv² = traffic_cv² + E[X²]/(λ E[X]²) of a lift duty.

Measurement (`update(f_mean_hz, f_var_hz2)`, the mean of a window's frequency readings and its variance σ²/n):

    f = f0 √(k(a)) + b,    k = 1 - β (a/h)²     (`simengine.physics.vibration`)

b is the systematic error every reading shares: the sensors' mean bias (sd σ_bias/√n_sensors) plus the error
of the calibrated f0 (sd σ_f0). It is a state, not white noise: a floor added to each update's variance would
average away as 1/N over weeks and leave the filter overconfident by the whole bias, while as a constant state
with prior sd √(σ_bias²/n_sensors + σ_f0²) it bounds the crack's sd at about that sd / |∂f/∂a| for as long as
the data cannot tell an offset from a crack. ∂f/∂a ∝ a: a crack of a few mm barely moves the frequency.

Units: m, s, Hz, MPa; C in m/cycle/(MPa·√m)^m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import jax
import jax.numpy as jnp
import numpy as np

from simengine.config.scenario import FleetConfig
from simengine.config.validate import ConfigError, Problem
from simengine.kinds.registry import kind_of
from simengine.physics.crack import paris_block
from simengine.physics.vibration import stiffness_ratio
from simengine.units import SECONDS_PER_DAY

STATE = ("crack_m", "ln_paris_C", "frequency_offset_hz")
_MIN_CRACK_M = 1e-6  # a Gaussian step can pass zero, where the Paris law is undefined and f is flat in a


@dataclass(frozen=True)
class CrackFilterConfig:
    """Prior and models of one joint. C's prior is lognormal: median `paris_C`, cv `paris_C_cv`."""

    initial_crack_m: float
    initial_crack_sd_m: float
    paris_C: float
    paris_C_cv: float
    paris_m: float
    geometry_Y: float
    section_depth_m: float
    stiffness_sensitivity: float  # β in k = 1 - β (a/h)²
    natural_frequency_hz: float  # calibrated f0 of the uncracked joint
    natural_frequency_sd_hz: float = 0.0  # sd of that calibration
    frequency_bias_sd_hz: float = 0.0  # per sensor
    frequency_sensors: int = 1
    lnC_random_walk_per_s: float = 3e-10  # Var of ln C added per second: sd 0.1 per year
    driver_cv: float = 0.3  # relative sd of the driver over driver_cv_period_s
    driver_cv_period_s: float = SECONDS_PER_DAY

    def __post_init__(self):
        problems = [Problem(f.name, getattr(self, f.name), rule) for f in fields(self)
                    if (rule := _rule(f.name, getattr(self, f.name)))]
        if not problems and self.initial_crack_m >= self.section_depth_m:
            problems.append(Problem("initial_crack_m", self.initial_crack_m,
                                    f"must be below section_depth_m ({self.section_depth_m} m)"))
        if problems:
            raise ConfigError(problems)

    @classmethod
    def for_fleet(cls, fleet: FleetConfig, *, initial_crack_m: float, initial_crack_sd_m: float,
                  natural_frequency_sd_hz: float, sensor: str = "boom_frequency", **overrides) -> CrackFilterConfig:
        """The prior of a fleet's typical joint: its median C and cv, its f0, the named sensor's bias and
        count, the day-to-day scatter of its kind's crack driver; `overrides` replace any of these."""
        s = next((s for s in fleet.sensors if s.name == sensor), None)
        if s is None or s.observes != "natural_frequency_hz":
            raise ValueError(f"sensor = {sensor!r}: must name a natural_frequency_hz sensor of the fleet")
        c = fleet.crack
        kw = dict(paris_C=c.paris_C.median, paris_C_cv=c.paris_C.cv, paris_m=c.paris_m, geometry_Y=c.geometry_Y,
                  section_depth_m=c.section_depth_m, stiffness_sensitivity=c.stiffness_sensitivity,
                  natural_frequency_hz=fleet.vibration.natural_frequency_hz,
                  frequency_bias_sd_hz=s.bias_sd / s.gain, frequency_sensors=s.per_asset)
        kind = kind_of(fleet)
        driver = kind.crack_driver(kind.settings(fleet.duty), c.paris_m)
        if driver is not None:
            kw["driver_cv"] = driver.cv_per_day
        return cls(initial_crack_m=initial_crack_m, initial_crack_sd_m=initial_crack_sd_m,
                   natural_frequency_sd_hz=natural_frequency_sd_hz, **{**kw, **overrides})


_POSITIVE = ("initial_crack_m", "initial_crack_sd_m", "paris_C", "paris_m", "geometry_Y", "section_depth_m",
             "stiffness_sensitivity", "natural_frequency_hz", "frequency_sensors", "driver_cv_period_s")


def _rule(name: str, value: float) -> str:
    """The rule a configuration value breaks, or '' (every other field is a variance or sd: >= 0)."""
    if not math.isfinite(value):
        return "must be finite"
    if name in _POSITIVE and value <= 0:
        return "must be > 0"
    return "must be >= 0" if value < 0 else ""


def _transition(x, driver, m, Y):
    return jnp.stack([paris_block(x[0], driver, jnp.exp(x[1]), m, Y), x[1], x[2]])


def _frequency(x, f0, depth, beta):
    return f0 * jnp.sqrt(stiffness_ratio(x[0], depth, beta)) + x[2]


@jax.jit
def _predict(x, P, driver, var_driver, var_lnC, m, Y):
    F = jax.jacfwd(_transition)(x, driver, m, Y)
    G = jax.jacfwd(_transition, argnums=1)(x, driver, m, Y)  # (3,): only a depends on the driver
    Q = jnp.outer(G, G) * var_driver + jnp.diag(jnp.array([0.0, var_lnC, 0.0]))
    return _transition(x, driver, m, Y), F @ P @ F.T + Q


@jax.jit
def _update(x, P, z, r, f0, depth, beta):
    H = jax.jacfwd(_frequency)(x, f0, depth, beta)
    S = H @ P @ H + r
    K = P @ H / S
    innovation = z - _frequency(x, f0, depth, beta)
    x = x + K * innovation
    I_KH = jnp.eye(3) - jnp.outer(K, H)
    # Joseph form: stays symmetric positive definite; innovation²/S: ~χ²(1) while the model holds
    # the crack floored here, in the compiled step, not by an eager scatter after it
    return x.at[0].max(_MIN_CRACK_M), I_KH @ P @ I_KH.T + r * jnp.outer(K, K), innovation**2 / S


class CrackFilter:
    """The filter's belief, mutated by `predict` and `update`; `mean` and `covariance` follow `STATE`."""

    def __init__(self, config: CrackFilterConfig):
        c = self.config = config
        sd_lnC = math.sqrt(math.log1p(c.paris_C_cv**2))
        sd_b = math.sqrt(c.frequency_bias_sd_hz**2 / c.frequency_sensors + c.natural_frequency_sd_hz**2)
        self._x = jnp.array([c.initial_crack_m, math.log(c.paris_C), 0.0])
        self._P = jnp.diag(jnp.array([c.initial_crack_sd_m, sd_lnC, sd_b]) ** 2)
        self.innovations: list[float] = []  # normalised innovation² of each update (χ²(1) if the model holds)

    def predict(self, dt_s: float, driver: float) -> None:
        """Advance by dt_s seconds under the driver D = Σ Δσ^m (MPa^m) of that interval's cycles."""
        if not (math.isfinite(dt_s) and dt_s >= 0):
            raise ValueError(f"dt_s = {dt_s}: must be finite and >= 0")
        if not (math.isfinite(driver) and driver >= 0):
            raise ValueError(f"driver = {driver}: must be finite and >= 0 (Σ Δσ^m, MPa^m)")
        if dt_s == 0:
            return
        c = self.config
        var_driver = (c.driver_cv * driver) ** 2 * c.driver_cv_period_s / dt_s
        self._x, self._P = _predict(self._x, self._P, driver, var_driver, c.lnC_random_walk_per_s * dt_s,
                                    c.paris_m, c.geometry_Y)

    def update(self, f_mean_hz: float, f_var_hz2: float) -> None:
        """Condition on the mean frequency of a window (Hz) with variance f_var_hz2 (σ²/n, Hz²).
        A NaN mean (every reading lost) is no information: the belief is kept."""
        if math.isnan(f_mean_hz):
            return
        if not (math.isfinite(f_mean_hz) and f_mean_hz > 0):
            raise ValueError(f"f_mean_hz = {f_mean_hz}: must be a finite frequency > 0")
        if not (math.isfinite(f_var_hz2) and f_var_hz2 > 0):
            raise ValueError(f"f_var_hz2 = {f_var_hz2}: must be finite and > 0 (noise² / readings)")
        c = self.config
        self._x, self._P, nis = _update(self._x, self._P, f_mean_hz, f_var_hz2, c.natural_frequency_hz,
                                        c.section_depth_m, c.stiffness_sensitivity)
        self.innovations.append(float(nis))

    @property
    def mean(self) -> np.ndarray:
        return np.asarray(self._x)

    @property
    def covariance(self) -> np.ndarray:
        return np.asarray(self._P)

    @property
    def crack_m(self) -> float:
        return float(self._x[0])

    @property
    def crack_sd_m(self) -> float:
        return math.sqrt(float(self._P[0, 0]))

    @property
    def paris_C(self) -> float:
        """The median e^(E ln C) of C's lognormal belief."""
        return math.exp(float(self._x[1]))

    @property
    def ln_paris_C_sd(self) -> float:
        return math.sqrt(float(self._P[1, 1]))

    def posterior_samples(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n draws (a in m, C) from the Gaussian belief over (a, ln C), truncated to a > 0 by rejection."""
        if n < 1:
            raise ValueError(f"n = {n}: must be >= 1")
        mean, cov = self.mean[:2], self.covariance[:2, :2]
        out = np.empty((0, 2))
        for _ in range(100):
            draw = rng.multivariate_normal(mean, cov, size=2 * n)
            out = np.concatenate([out, draw[draw[:, 0] > 0]])
            if len(out) >= n:
                return out[:n, 0], np.exp(out[:n, 1])
        raise ValueError(f"crack belief {mean[0]} ± {math.sqrt(cov[0, 0])} m: too little mass at a > 0 to sample")
