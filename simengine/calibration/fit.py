"""Fit chosen parameters of the observation model to a window of readings, with their uncertainty.

The residual of quantity q at reading k is (model - mean reading) · √n_k / σ_q:
each reading weighted by its sensor's noise sd σ_q (given, or estimated
model-free from successive readings, `window.noise_sd`). The fit is
`least_squares.solve` (exact Jacobians, bounds, robust loss). Uncertainty is
the Laplace (Gauss–Newton) approximation at the optimum,

    Cov(θ) = s² (JᵀJ)⁻¹,    s² = Σ r² / (m - p)     (the residual variance; 1 if every σ were exact)

with t-distribution confidence intervals and the correlation matrix. A
parameter the readings cannot determine shows as a (near) zero singular value
of the column-normalised Jacobian; the fit then warns, names the parameter
combination that is free, and reports an infinite sd for the parameters in it.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from simengine.calibration import least_squares
from simengine.calibration.diagnostics import TEMPERATURES, correlated, goodness, identifiability, poorly_determined
from simengine.calibration.input_uncertainty import heating_input_effect
from simengine.calibration.model import OUTPUTS, PARAMETERS, Baseline, predict
from simengine.calibration.window import Window, noise_sd
from simengine.config.validate import ConfigError, Problem

_STIFFNESS = ("natural_frequency_hz", "vibration_rms")
# the readings each parameter acts on within a window; the fit uses those of its parameters, no others
ACTS_ON = {"thermal_tau_s": ("temperature_C",), "thermal_resistance_K_per_W": ("temperature_C",),
           "hoist_heat_W": ("temperature_C",), "ambient_C": ("temperature_C",), "initial_temp_C": ("temperature_C",),
           "natural_frequency_hz": ("natural_frequency_hz",), "vibration_rms0": ("vibration_rms",),
           "wear_vibration_gain": ("vibration_rms",), "stiffness_sensitivity": _STIFFNESS,
           "section_depth_m": _STIFFNESS, "initial_crack_m": _STIFFNESS}


@dataclass(frozen=True)
class FitSpec:
    """What to fit and how. Bounds and starting values default to the baseline's neighbourhood."""

    parameters: tuple[str, ...]
    initial: dict[str, float] = field(default_factory=dict)
    lower: dict[str, float] = field(default_factory=dict)
    upper: dict[str, float] = field(default_factory=dict)
    loss: str = "linear"
    f_scale: float = 3.0  # robust loss: residuals beyond f_scale noise sd count less
    noise_sd: dict[str, float] = field(default_factory=dict)  # per quantity, single reading
    confidence: float = 0.95
    max_evaluations: int = 200

    def problems(self) -> list[Problem]:
        out = [Problem("fit.parameters", n, f"unknown; choose from {', '.join(PARAMETERS)}")
               for n in self.parameters if n not in PARAMETERS]
        if not self.parameters:
            out.append(Problem("fit.parameters", [], "name at least one parameter to fit"))
        if len(set(self.parameters)) != len(self.parameters):
            out.append(Problem("fit.parameters", list(self.parameters), "each parameter once"))
        for key in ("initial", "lower", "upper"):
            out += [Problem(f"fit.{key}.{n}", v, "not a fitted parameter") for n, v in getattr(self, key).items()
                    if n not in self.parameters]
        out += [Problem("fit.parameters", n, "acts on no reading within a window (the crack and the wear are held "
                        "there); continuous mode's crack filter estimates the Paris coefficient")
                for n in self.parameters if n in PARAMETERS and n not in ACTS_ON]
        out += [Problem(f"fit.lower.{n}", float(lo), f"must lie below fit.upper.{n} ({float(self.upper[n])})")
                for n, lo in self.lower.items() if n in self.upper and not lo < self.upper[n]]
        out += [Problem("fit.noise_sd", q, f"unknown quantity; choose from {', '.join(OUTPUTS)}")
                for q in self.noise_sd if q not in OUTPUTS]
        out += [Problem(f"fit.noise_sd.{q}", v, "must be > 0") for q, v in self.noise_sd.items() if not v > 0]
        if self.loss not in least_squares.LOSSES:
            out.append(Problem("fit.loss", self.loss, f"must be one of {', '.join(least_squares.LOSSES)}"))
        if not 0.0 < self.confidence < 1.0:
            out.append(Problem("fit.confidence", self.confidence, "must lie in (0, 1)"))
        return out

    def needed_quantities(self) -> tuple[str, ...]:
        """The readings the fitted parameters act on (a parameter acting on none warns as not identifiable)."""
        return tuple(q for q in OUTPUTS if any(q in ACTS_ON.get(n, ()) for n in self.parameters))


@dataclass(frozen=True)
class Calibration:
    """A fit's answer. Per-parameter arrays follow `names`."""

    names: tuple[str, ...]
    values: np.ndarray
    sd: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    confidence: float
    covariance: np.ndarray
    correlation: np.ndarray
    initial: np.ndarray
    status: int
    message: str
    evaluations: int
    cost: float
    dof: int
    residual_variance: float  # s², ≈ 1 when the noise sd are right and the model fits
    condition_number: float
    identifiable: bool
    warnings: tuple[str, ...]
    goodness: dict[str, dict[str, float]]  # per quantity: readings, rms, r2, chi2_reduced
    noise_sd: dict[str, float]
    predicted: np.ndarray  # (len(OUTPUTS), n) the fitted model at the reading times
    window: Window
    seconds: float  # wall time of the solve (warm: compiled once per parameter set)
    loss: str = "linear"

    @property
    def converged(self) -> bool:
        return self.status > 0

    def value(self, name: str) -> float:
        return float(self.values[self.names.index(name)])


_predict = jax.jit(predict, static_argnums=1)
COUNTER_TOLERANCE = 0.05  # a load counter that disagrees with the sampled load by more is not ∫ load dt


@functools.lru_cache(maxsize=None)
def residual_function(names: tuple[str, ...]):
    """r(θ, baseline, dt, load, heat_load, observed, weight) -> (len(OUTPUTS)·n,): one function per
    parameter set, so that jit compiles once for it."""

    def residual(theta, baseline, dt_s, load_factor, heat_load_factor, observed, weight):
        return ((predict(theta, names, baseline, dt_s, load_factor, heat_load_factor) - observed) * weight).ravel()

    return residual


def problem_arrays(window: Window, sigma: np.ndarray):
    """(observed with NaN as 0, weights √n/σ, 0 where no reading) for the residual."""
    observed = np.nan_to_num(window.observed)
    weight = np.sqrt(window.counts) / sigma[:, None]
    return jnp.asarray(observed), jnp.asarray(np.where(window.counts > 0, weight, 0.0))


def fit_arrays(window: Window, spec: FitSpec, sigma: np.ndarray):
    """`problem_arrays` with zero weight on readings no fitted parameter acts on (they would only add misfit)."""
    observed, weight = problem_arrays(window, sigma)
    unused = np.array([q not in spec.needed_quantities() for q in OUTPUTS])
    return observed, jnp.where(unused[:, None], 0.0, weight)


def window_inputs(window: Window) -> tuple:
    """The model's inputs from a window: (dt, observed load, heating load)."""
    return jnp.asarray(window.dt_s), jnp.asarray(window.load_factor), jnp.asarray(window.heat_load_factor)


def default_bounds(name: str) -> tuple[float, float]:
    if name in TEMPERATURES:
        return -80.0, 250.0
    return 0.0, np.inf  # every other parameter is a positive physical constant


def fit(window: Window, spec: FitSpec, baseline: Baseline) -> Calibration:
    """Fit `spec.parameters` to `window`, starting from the baseline (or spec.initial)."""
    problems = spec.problems()
    if problems:
        raise ConfigError(problems)
    names = tuple(spec.parameters)
    p = len(names)
    used = [OUTPUTS.index(q) for q in spec.needed_quantities()]
    m_good = int(np.any(window.counts[used] > 0, axis=0).sum())
    if m_good < max(10 * p, 30):
        raise ConfigError([Problem("readings", f"{m_good} reading times with good outputs",
                                   f"too little data to fit {p} parameters: need at least {max(10 * p, 30)}")])
    sigma = _noise(window, spec)
    observed, weight = fit_arrays(window, spec, sigma)
    x0 = np.array([spec.initial.get(n, baseline.value(n)) for n in names], float)
    lower = np.array([spec.lower.get(n, default_bounds(n)[0]) for n in names], float)
    upper = np.array([spec.upper.get(n, default_bounds(n)[1]) for n in names], float)
    outside = [Problem(f"fit.initial.{n}", float(x), f"must lie within its bounds [{lo}, {hi}]")
               for n, x, lo, hi in zip(names, x0, lower, upper) if not lo <= x <= hi]
    if outside:
        raise ConfigError(outside)
    residual = residual_function(names)
    inputs = window_inputs(window)

    def solve(start, weight):
        return jax.block_until_ready(least_squares.solve(
            residual, jnp.asarray(start), jnp.asarray(lower), jnp.asarray(upper), (baseline, *inputs, observed, weight),
            loss=spec.loss, f_scale=spec.f_scale, max_evaluations=spec.max_evaluations))

    started = time.perf_counter()
    sol = solve(x0, weight)
    if int(sol.status) == least_squares.NOT_FINITE:
        raise ConfigError([Problem("fit.initial", dict(zip(names, x0.tolist())), least_squares.STATUS[least_squares.NOT_FINITE])])
    # A model-free noise estimate misses what the model cannot explain (a noisy measured input, say): where a
    # quantity's residuals say its sd is off by over 10 %, take theirs and fit again from the answer, so that each
    # quantity weighs as much as it deserves and its parameters' intervals are its own (feasible weighted LS).
    ratio = _chi2_per_quantity(np.asarray(sol.residuals), window, spec)
    if spec.loss == "linear" and np.any(np.abs(ratio - 1.0) > 0.1):
        sigma = sigma * np.sqrt(ratio)
        observed, weight = fit_arrays(window, spec, sigma)
        sol = solve(np.asarray(sol.x), weight)
    seconds = time.perf_counter() - started
    predicted = np.asarray(_predict(sol.x, names, baseline, *inputs))
    # the robust fit's curvature: its IRLS weights at the optimum (None: least squares)
    irls = None if spec.loss == "linear" else np.asarray(
        least_squares.robust((np.asarray(sol.residuals) / spec.f_scale) ** 2, spec.loss)[1])
    input_effect = heating_input_effect(residual, sol, window.heat_load_var, (baseline, *inputs, observed, weight), irls)
    return _summarise(window, spec, names, x0, (lower, upper), sol, sigma, predicted, seconds, np.asarray(weight),
                      irls, input_effect)


def _chi2_per_quantity(residuals: np.ndarray, window: Window, spec: FitSpec) -> np.ndarray:
    """Σr²/n of each quantity's weighted residuals (len(OUTPUTS),); 1 where a quantity is not fitted
    or its sd was given (`fit.noise_sd`)."""
    r = residuals.reshape(len(OUTPUTS), -1)
    out = np.ones(len(OUTPUTS))
    for i, q in enumerate(OUTPUTS):
        n = int(np.count_nonzero(window.counts[i]))
        if q in spec.needed_quantities() and q not in spec.noise_sd and n > 0:
            out[i] = float(r[i] @ r[i]) / n
    return out


def _noise(window: Window, spec: FitSpec) -> np.ndarray:
    estimated = noise_sd(window)
    unknown = [q for q in spec.needed_quantities() if q not in spec.noise_sd and not np.isfinite(estimated[OUTPUTS.index(q)])]
    if unknown:
        raise ConfigError([Problem(f"fit.noise_sd.{q}", None, "too few readings to estimate it from the data; give it")
                           for q in unknown])
    scale = np.nanmax(np.abs(window.observed), axis=1, initial=0.0)
    sigma = np.array([spec.noise_sd.get(q, estimated[i]) for i, q in enumerate(OUTPUTS)], float)
    floor = np.maximum(1e-9 * np.nan_to_num(scale), 1e-300)  # noise-free (simulated) readings
    return np.where(np.isfinite(sigma), np.maximum(sigma, floor), 1.0)


def _summarise(window, spec, names, x0, bounds, sol, sigma, predicted, seconds, weight, irls, input_effect) -> Calibration:
    p = len(names)
    r, J = np.asarray(sol.residuals), np.asarray(sol.jacobian)
    if irls is not None:
        r, J = r * np.sqrt(irls), J * np.sqrt(irls)[:, None]
    m = int(np.count_nonzero(weight))
    dof = max(m - p, 1)
    s2 = float(r @ r / dof)
    norms = np.linalg.norm(J, axis=0)
    Jn = J / np.where(norms > 0, norms, 1.0)
    _, sv, vt = np.linalg.svd(Jn, full_matrices=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else np.inf
    warnings, free = identifiability(names, norms, cond, vt, sv)
    with np.errstate(divide="ignore", invalid="ignore"):
        # in column-normalised coordinates: raw units span twenty decades, where a pseudo-inverse's cut-off
        # would silently zero the variance of a weakly determined parameter
        scale = np.where(norms > 0, 1.0 / norms, 0.0)
        inverse = np.linalg.pinv(Jn.T @ Jn, hermitian=True)
        cov = s2 * scale[:, None] * inverse * scale[None, :]
        widened = np.ones(p)
        if input_effect is not None:  # the heating load estimated over gaps (see input_uncertainty)
            spread = inverse @ (input_effect * scale[:, None])
            cov_from_input = scale[:, None] * (spread @ spread.T) * scale[None, :]
            widened = np.sqrt(1.0 + np.diag(cov_from_input) / np.diag(cov))
            cov = cov + cov_from_input
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        sd[list(free)] = np.inf
        corr = cov / np.outer(sd, sd)
    corr[np.diag_indices(p)] = 1.0
    for i in free:  # the data say nothing of these: no number would be honest
        cov[i, :] = cov[:, i] = np.nan
        corr[i, :] = corr[:, i] = np.nan
    half = stats.t.ppf(0.5 + spec.confidence / 2.0, dof) * sd
    x = np.asarray(sol.x)
    warnings += correlated(names, corr, free) + poorly_determined(names, x, sd, free)
    status = int(sol.status)
    if status == least_squares.MAX_ITERATIONS:
        warnings.append(f"the fit did not converge in {spec.max_evaluations} evaluations; raise fit.max_evaluations "
                        "or start nearer (fit.initial)")
    thermal = {"thermal_tau_s", "thermal_resistance_K_per_W", "hoist_heat_W"} & set(names)
    if thermal and not {"ambient_C", "initial_temp_C"} <= set(names):
        warnings.append(f"{', '.join(sorted(thermal))} fitted with the ambient or the initial temperature held at its "
                        "start value (the first readings): unless that is known, fit ambient_C and initial_temp_C too")
    w = window
    if w.gap_s > 0.01 * (w.time_s[-1] - w.time_s[0] + w.dt_s[0]):
        how = (f"the heating load over {w.heat_estimated} of them is estimated (see heating.py)" if w.heat_estimated
               else "the load counter gives the heating over them")
        warnings.append(f"readings are missing for {w.gap_s:.0f} s in {w.gaps} gaps; {how}")
    wide = [f"{n} ×{f:.2g}" for n, f in zip(names, widened) if np.isfinite(f) and f > 1.1]
    if wide:
        warnings.append(f"the heating load over {w.heat_estimated} gaps in the readings is estimated (no load counter "
                        f"tag, or a bad counter reading): its uncertainty widens the intervals of {', '.join(wide)}")
    if abs(w.counter_ratio - 1.0) > COUNTER_TOLERANCE:
        warnings.append(f"the load counter rose {w.counter_ratio:.3g} times the sampled load's load-time over the same "
                        "intervals: it should count ∫ load dt in the unit it names (rated-load s or h), not a cubic "
                        "spectrum or another unit; the heating input follows the counter")
    at_bound = [n for n, v, lo, hi in zip(names, x, *bounds) if v <= lo or v >= hi]
    warnings += [f"{n} = {x[names.index(n)]:.6g} sits on its bound: its interval is not meaningful" for n in at_bound]
    return Calibration(
        names=names, values=x, sd=sd, ci_low=x - half, ci_high=x + half, confidence=spec.confidence, covariance=cov,
        correlation=corr, initial=np.asarray(x0), status=status, message=least_squares.STATUS[status],
        evaluations=int(sol.iterations), cost=float(sol.cost), dof=dof, residual_variance=s2, condition_number=cond,
        identifiable=not free, warnings=tuple(warnings), goodness=goodness(window, predicted, sigma, p, spec.needed_quantities()),
        noise_sd={q: float(s) for q, s in zip(OUTPUTS, sigma) if window.counts[OUTPUTS.index(q)].sum() > 0},
        predicted=predicted, window=window, seconds=seconds, loss=spec.loss)

