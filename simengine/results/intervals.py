"""95 % confidence intervals of a mean over replicas that respect the KPI's range.

- Counts of events per replica (failures, alarms): the exact Poisson interval
  of Garwood (1936) on the total count T over n replicas,
  ``[chi2(α/2; 2T) / 2n, chi2(1-α/2; 2T+2) / 2n]``, never below 0. Replicas
  whose counts scatter more than Poisson allows (the index of dispersion
  ``Σ(x - x̄)² / x̄`` above its χ²(n-1) 95th percentile) would get a falsely
  narrow interval, so they get the bootstrap below instead.
- Continuous KPIs and fractions (costs, hours, availability), from
  ``BOOTSTRAP_MIN_N`` replicas on: the BCa bootstrap of the mean
  (scipy.stats.bootstrap, fixed seed, so a summary is deterministic), which
  follows a skewed distribution; it lies within the sample's range, so a
  fraction's stays in [0, 1] and a cost's above 0. Below that the bootstrap
  is far too narrow (with 3 replicas it holds the mean 60-70 % of the time,
  with 8 about 80-90 %), so the Student t interval is used, intersected
  with the KPI's range: the true mean lies in the range, so the
  intersection keeps the t interval's coverage. Above ``BOOTSTRAP_MAX_N``
  replicas the t interval within the range is used again: the bootstrap's
  BCa acceleration is a jackknife whose cost grows as n² (100,000 replicas
  took minutes per KPI), while the t interval's error from skewness shrinks
  as 1/√n and is then well under the Monte Carlo error of the bootstrap
  itself (a test compares the two at 12,000 skewed values). A per-replica availability
  is a fraction of time, not a Bernoulli trial, so no binomial (Wilson)
  interval applies to it.
- A KPI outside the catalogue: the Student t interval, unbounded.

Every interval comes with the name of its method.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

ALPHA = 0.05
BOOTSTRAP_MIN_N = 30
BOOTSTRAP_MAX_N = 10_000
BOOTSTRAP_RESAMPLES = 4999
BOOTSTRAP_SEED = 20261202
_BOOTSTRAP_CELLS = 2_000_000  # resamples x values held at once, to bound memory for long runs

POISSON = "Poisson exact (Garwood)"
BOOTSTRAP = "bootstrap BCa"
T_IN_RANGE = "Student t within range"
T_LARGE_N = f"Student t within range (over {BOOTSTRAP_MAX_N:,} replicas)"
OVERDISPERSED = " (overdispersed counts)"
STUDENT_T = "Student t"


def poisson_exact(total: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """Garwood's interval for the mean count per replica, from `total` events over `n` replicas."""
    low = 0.0 if total == 0 else float(stats.chi2.ppf(alpha / 2, 2 * total)) / (2 * n)
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * total + 2)) / (2 * n)
    return low, high


def overdispersed(x: np.ndarray, alpha: float = ALPHA) -> bool:
    """Whether counts scatter more than a Poisson variable's (index-of-dispersion test at level `alpha`)."""
    mean = float(x.mean())
    if x.size < 2 or mean == 0.0:
        return False
    index = float(((x - mean) ** 2).sum()) / mean
    return index > float(stats.chi2.ppf(1 - alpha, x.size - 1))


def bootstrap_mean(x: np.ndarray, low: float = -math.inf, high: float = math.inf,
                   alpha: float = ALPHA) -> tuple[float, float]:
    """BCa bootstrap interval of the mean of `x`, clipped to [low, high]; deterministic."""
    if np.ptp(x) == 0.0:  # no spread: every resample has the same mean
        return float(x[0]), float(x[0])
    with warnings.catch_warnings():
        # A sample with few distinct values warns that BCa may be unstable; the percentile fallback below covers it.
        warnings.simplefilter("ignore")
        ci = _bootstrap(x, "BCa", alpha).confidence_interval
        if not (math.isfinite(ci.low) and math.isfinite(ci.high)):
            ci = _bootstrap(x, "percentile", alpha).confidence_interval
    return float(np.clip(ci.low, low, high)), float(np.clip(ci.high, low, high))


def _bootstrap(x: np.ndarray, method: str, alpha: float):
    return stats.bootstrap((x,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, confidence_level=1 - alpha,
                           method=method, vectorized=True, batch=max(1, _BOOTSTRAP_CELLS // x.size),
                           rng=np.random.default_rng(BOOTSTRAP_SEED))


def mean_in_range(x: np.ndarray, low: float = -math.inf, high: float = math.inf,
                  alpha: float = ALPHA) -> tuple[tuple[float, float], str]:
    """The interval of a continuous mean within [low, high] and its method's name: bootstrap or t by sample size."""
    if uses_bootstrap(x.size):
        return bootstrap_mean(x, low, high, alpha), BOOTSTRAP
    t_low, t_high = student_t(x, alpha)
    method = T_IN_RANGE if x.size < BOOTSTRAP_MIN_N else T_LARGE_N
    return (float(np.clip(t_low, low, high)), float(np.clip(t_high, low, high))), method


def uses_bootstrap(n: int) -> bool:
    """Whether a mean over `n` values gets the BCa bootstrap (else the t interval: see the module's note)."""
    return BOOTSTRAP_MIN_N <= n <= BOOTSTRAP_MAX_N


def student_t(x: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """mean ± t(1-α/2, n-1) · s / √n."""
    mean, n = float(x.mean()), x.size
    half = float(stats.t.ppf(1 - alpha / 2, df=n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half
