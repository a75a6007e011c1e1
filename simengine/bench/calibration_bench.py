"""Calibration benchmark: 4 parameters of one crane from 3,600 reading times (one simulated hour at 1 Hz).

The readings come from the embedded virtual PLC (`PhysicsSource`, in process)
with known true parameters; the fit starts from the fleet's nominal values.
Every contender minimises the same cost, ½ Σ r(θ)², over the same compiled
residual r (`fit.residual_function`: the observation model stepped over the
window, weighted by √n/σ; (3·3600,)), from the same start, within the same
bounds (0 ≤ θ):

* ours: `least_squares.solve` (Levenberg–Marquardt, exact forward-mode
  Jacobian, the whole loop one jitted call), blocked until ready;
* ours, whole `fit()`: the solve plus the model's prediction, the Laplace
  covariance, intervals, identifiability and goodness of fit;
* the reference: `scipy.optimize.least_squares(fun, x0, jac="2-point",
  bounds=..., x_scale="jac")` (trust-region reflective, scipy's default
  tolerances), fun being the same jitted residual returned as NumPy: the
  model is equally compiled, only the Jacobian and the solver differ;
* for context: the same scipy call with our exact JAX Jacobian (jac=callable),
  which separates the solver's share from the Jacobian's.

All run in a child process pinned to one CPU with single-threaded XLA and
BLAS (`crane_reference.SINGLE_THREAD_ENV`): on a shared machine OpenBLAS's
spinning threads slowed scipy's solver up to 4-fold, which would flatter us.
All are compiled once before timing and then timed interleaved; each sample
is the mean of a few back-to-back calls (a solve takes milliseconds) and the
figures are medians of the samples. Answers are compared parameter by
parameter (relative difference) and recorded, not asserted: a disagreement
shows in the JSON. Times in s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy
import scipy.optimize

from simengine.bench.crane_reference import SINGLE_THREAD_ENV
from simengine.bench.harness import BenchResult, alternate
from simengine.calibration import least_squares
from simengine.calibration.fit import FitSpec, _noise, default_bounds, fit, fit_arrays, residual_function, window_inputs
from simengine.calibration.model import Baseline, baseline_for
from simengine.calibration.window import Window, align, tag_gains, tags_of

# the motor's RC law stepped through the hour: every parameter acts through the time-stepping model
NAMES = ("thermal_tau_s", "thermal_resistance_K_per_W", "ambient_C", "initial_temp_C")
TRUE_PARAMS = {"thermal_tau_s": 1500.0, "thermal_resistance_K_per_W": 0.0062}
DURATION_S, RATE_HZ = 3600.0, 1.0
AGREE_RTOL = 1e-6  # parameters of every contender within this of ours
GOAL_FIT_S, GOAL_RATIO = 1.0, 5.0


class Problem(NamedTuple):
    window: Window
    baseline: Baseline
    spec: FitSpec
    x0: np.ndarray  # (p,) the nominal values the fits start from
    lower: np.ndarray  # (p,)
    upper: np.ndarray  # (p,)
    args: tuple  # the residual's arguments after θ
    truth: dict  # the hidden values the fit should find


def problem(seed: int = 1) -> Problem:
    """Readings of crane 0 of a 2-crane fleet with hidden TRUE_PARAMS, and the fit's arrays (as `fit` builds them)."""
    import simengine
    from simengine.calibration.sources import record_virtual
    from simengine.engine.physics_setup import build_params
    from simengine.virtual_plc import PhysicsSource

    sc = simengine.load_scenario("crane_fleet", {"fleet.count": 2})
    src = PhysicsSource(sc, [0], seed=seed, true_params=TRUE_PARAMS)
    ambient = float(src._inputs(1.0).ambient_C[0])  # the cold start: the motor at ambient
    truth = {**TRUE_PARAMS, "ambient_C": ambient, "initial_temp_C": ambient}
    with tempfile.TemporaryDirectory() as tmp:
        rec = record_virtual(src, Path(tmp) / "readings.h5", duration_s=DURATION_S, rate_hz=RATE_HZ)
    tags = tags_of(rec)
    window = align(rec.time_s, rec.values, rec.quality, tags, tag_gains(tags, sc.fleet.sensors), asset=0)
    nominal = build_params(sc.fleet, np.random.default_rng(0))
    T0 = float(np.nanmean(window.observed[0, :5]))  # as a user would: the first readings, ambient = start
    baseline = baseline_for(nominal, 0, hoist_heat_W=src.heat_at_rated_load_W, ambient_C=T0, initial_temp_C=T0,
                            initial_crack_m=3e-4)
    spec = FitSpec(NAMES)
    observed, weight = fit_arrays(window, spec, _noise(window, spec))
    args = (baseline, *window_inputs(window), observed, weight)
    x0 = np.array([baseline.value(n) for n in NAMES], float)
    lower, upper = (np.array([default_bounds(n)[i] for n in NAMES], float) for i in (0, 1))
    return Problem(window, baseline, spec, x0, lower, upper, args, truth)


def contenders(pb: Problem) -> dict[str, callable]:
    """The four runs, each returning (θ (p,), cost, evaluation counts)."""
    residual = residual_function(NAMES)
    x0, lower, upper = (jnp.asarray(a) for a in (pb.x0, pb.lower, pb.upper))
    r_jit = jax.jit(residual)
    J_jit = jax.jit(lambda x, *a: least_squares.jacobian(residual, x, *a)[1])

    def fun(x):
        return np.asarray(r_jit(jnp.asarray(x), *pb.args))

    def jac(x):
        return np.asarray(J_jit(jnp.asarray(x), *pb.args))

    def ours():
        sol = jax.block_until_ready(least_squares.solve(residual, x0, lower, upper, pb.args))
        return np.asarray(sol.x), float(sol.cost), {"evaluations": int(sol.iterations), "status": int(sol.status)}

    def ours_fit():
        cal = fit(pb.window, pb.spec, pb.baseline)
        return cal.values, cal.cost, {"evaluations": cal.evaluations, "status": cal.status, "sd": cal.sd,
                                      "warnings": cal.warnings}

    def scipy_with(jacobian):
        def go():
            r = scipy.optimize.least_squares(fun, pb.x0, jac=jacobian, bounds=(pb.lower, pb.upper), x_scale="jac")
            return r.x, float(r.cost), {"nfev": int(r.nfev), "njev": int(r.njev or 0), "status": int(r.status),
                                        "message": r.message}
        return go

    return {"simengine_solve": ours, "simengine_fit": ours_fit, "scipy_2point": scipy_with("2-point"),
            "scipy_exact_jac": scipy_with(jac)}


def _batched(fn, k: int):
    def go():
        for _ in range(k):
            out = fn()
        return out
    return go


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    """`measure` in a child process on one CPU, single-threaded."""
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    cmd = [sys.executable, "-m", "simengine.bench.calibration_bench", str(repeats), str(int(quick))]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the pinned benchmark process failed:\n{proc.stderr[-3000:]}")
    return BenchResult(**json.loads(proc.stdout.strip().splitlines()[-1]))


def measure(repeats: int = 5, quick: bool = False) -> BenchResult:
    """The benchmark in this process, as it is configured."""
    rounds = min(repeats, 2) if quick else repeats
    inner = {"simengine_solve": 2, "simengine_fit": 1, "scipy_2point": 2, "scipy_exact_jac": 2} if quick else \
            {"simengine_solve": 20, "simengine_fit": 3, "scipy_2point": 20, "scipy_exact_jac": 20}
    load_start = os.getloadavg()[0]
    pb = problem()
    runs = contenders(pb)
    first = {}
    for label, fn in runs.items():  # compile (ours: the solve; fit: its own extra work; scipy: fun and jac)
        t0 = time.perf_counter()
        fn()
        first[label] = time.perf_counter() - t0
    samples, last = alternate({k: _batched(fn, inner[k]) for k, fn in runs.items()}, rounds)
    timings = {k: [t / inner[k] for t in v] for k, v in samples.items()}
    med = {k: float(np.median(v)) for k, v in timings.items()}

    x_ours, cost_ours, info = last["simengine_solve"]
    p = len(NAMES)
    rel = {k: float(np.max(np.abs(last[k][0] / x_ours - 1.0))) for k in runs if k != "simengine_solve"}
    cost_rel = {k: float((last[k][1] - cost_ours) / cost_ours) for k in runs if k != "simengine_solve"}
    agree = all(v <= AGREE_RTOL for v in rel.values())
    fd, ex, cal = last["scipy_2point"][2], last["scipy_exact_jac"][2], last["simengine_fit"][2]
    ratio = med["scipy_2point"] / med["simengine_solve"]
    best = {k: min(v) for k, v in timings.items()}

    figures: dict[str, float | str] = {
        "parameters": float(p), "readings_times": float(pb.window.n),
        "residuals": float(np.count_nonzero(np.asarray(pb.args[-1]))), "device": str(jax.devices()[0]),
        "scipy_version": scipy.__version__,
        "cpus_used": float(len(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else float("nan"),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "load_average_1min (start, end)": f"{load_start:.2f}, {os.getloadavg()[0]:.2f}",
        "simengine_solve_first_call_s (incl. JIT compile)": first["simengine_solve"],
        "simengine_fit_first_call_s (solve compiled)": first["simengine_fit"],
        "simengine_solve_warm_s": med["simengine_solve"],
        "simengine_fit_warm_s (solve + uncertainty, prediction, checks)": med["simengine_fit"],
        "scipy_2point_warm_s (reference)": med["scipy_2point"],
        "scipy_exact_jac_warm_s (context)": med["scipy_exact_jac"],
        "ratio_scipy_2point_vs_simengine_solve": ratio,
        "ratio_scipy_2point_vs_simengine_fit": med["scipy_2point"] / med["simengine_fit"],
        "ratio_scipy_2point_vs_simengine_solve (best samples)": best["scipy_2point"] / best["simengine_solve"],
        "ratio_scipy_exact_jac_vs_simengine_solve (solver's share)": med["scipy_exact_jac"] / med["simengine_solve"],
        "ratio_scipy_2point_vs_scipy_exact_jac (Jacobian's share)": med["scipy_2point"] / med["scipy_exact_jac"],
        f"goal_warm_fit_le_{GOAL_FIT_S:g}s (whole fit)": "met" if med["simengine_fit"] <= GOAL_FIT_S else "NOT met",
        f"goal_ratio_ge_{GOAL_RATIO:g}x (solve vs scipy 2-point)": "met" if ratio >= GOAL_RATIO else "NOT met",
        "simengine_evaluations (each: r and the p-column Jacobian)": float(info["evaluations"]),
        "simengine_status": least_squares.STATUS[info["status"]],
        "scipy_2point_nfev": float(fd["nfev"]), "scipy_2point_njev": float(fd["njev"]),
        "scipy_2point_residual_calls (nfev + p*njev)": float(fd["nfev"] + p * fd["njev"]),
        "scipy_2point_status": fd["message"],
        "scipy_exact_jac_nfev": float(ex["nfev"]), "scipy_exact_jac_njev": float(ex["njev"]),
        **{f"max_rel_diff_params_{k}_vs_simengine_solve": v for k, v in rel.items()},
        **{f"rel_diff_cost_{k}_vs_simengine_solve": v for k, v in cost_rel.items()},
        f"answers_agree (params within {AGREE_RTOL:g} rel)": "yes" if agree else "NO",
    }
    for i, n in enumerate(NAMES):
        figures[f"{n}_truth"] = pb.truth[n]
        figures[f"{n}_start"] = float(pb.x0[i])
        figures[f"{n}_fitted"] = float(x_ours[i])
        figures[f"{n}_sd"] = float(cal["sd"][i])
        figures[f"{n}_error_in_sd"] = float((x_ours[i] - pb.truth[n]) / cal["sd"][i])
    figures["fit_warnings"] = "; ".join(cal["warnings"]) or "none"
    return BenchResult(
        name="calibration",
        goal=f"warm fit <= {GOAL_FIT_S:g} s and >= {GOAL_RATIO:g}x scipy least_squares "
             "(2-point Jacobian, same jitted residual)",
        figures=figures, timings_s=timings,
        notes=(f"medians of {rounds} interleaved samples, each the mean of {inner['simengine_solve']} solves "
               f"({inner['simengine_fit']} whole fits); millisecond timings on a shared machine move by tens of "
               "per cent between runs (see the load average; a machine busier than its CPU count is not quiet). "
               "Single-threaded, one CPU, for both; multi-threaded OpenBLAS under contention slowed the reference "
               "up to 4x. The fits start 20 % from the hidden τ and R; the error vs truth is the fit's, the "
               "same for every contender (they agree), and is given in sd of its own interval"),
    )


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print(json.dumps(asdict(measure(int(sys.argv[1]), bool(int(sys.argv[2]))))))
