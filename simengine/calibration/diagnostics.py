"""What a fit's Jacobian and residuals say about it: identifiability, correlations, goodness of fit.

The Jacobian here is column-normalised (each parameter's sensitivities scaled to unit length), so that
its singular values compare parameters of any units: a (near) zero one is a combination of parameters
the readings do not determine.
"""

from __future__ import annotations

import numpy as np

from simengine.calibration.model import OUTPUTS
from simengine.calibration.window import Window

CONDITION_LIMIT = 1e6  # of the column-normalised Jacobian: beyond it the data do not separate the parameters
CORRELATION_LIMIT = 0.999  # beyond it the variance of each is inflated ~500-fold by the other
TEMPERATURES = ("ambient_C", "initial_temp_C", "wear_reference_C")


def identifiability(names, norms, cond, vt, sv) -> tuple[list[str], set[int]]:
    warnings, free = [], set()
    for i, n in enumerate(names):
        if norms[i] == 0:
            free.add(i)
            warnings.append(f"not identifiable: {n} has no effect on these readings")
    if cond > CONDITION_LIMIT:
        for k in np.nonzero(sv < sv[0] / CONDITION_LIMIT)[0]:
            weights = vt[k]
            members = [i for i in np.argsort(-np.abs(weights)) if abs(weights[i]) > 0.1]
            free.update(members)
            combo = " ".join(f"{weights[i]:+.2f}·{names[i]}" for i in members)
            warnings.append(f"not identifiable: the readings do not determine the combination {combo} "
                            f"(scaled Jacobian condition number {cond:.2g} > {CONDITION_LIMIT:g}); fix one of "
                            f"{', '.join(names[i] for i in members)} or add readings that separate them")
    return warnings, free


def correlated(names, corr, free) -> list[str]:
    p = len(names)
    return [f"{names[i]} and {names[j]} are strongly correlated (r = {corr[i, j]:+.4f}): the data determine them mostly together"
            for i in range(p) for j in range(i + 1, p)
            if i not in free and j not in free and abs(corr[i, j]) > CORRELATION_LIMIT]


def poorly_determined(names, x, sd, free) -> list[str]:
    return [f"{n} is poorly determined: sd {sd[i]:.3g} exceeds half its value {x[i]:.3g}"
            for i, n in enumerate(names)
            if i not in free and n not in TEMPERATURES and np.isfinite(sd[i]) and sd[i] > 0.5 * abs(x[i])]


def goodness(window: Window, predicted: np.ndarray, sigma: np.ndarray, p: int, fitted) -> dict[str, dict[str, float]]:
    out = {}
    for i, q in enumerate(OUTPUTS):
        ok = window.counts[i] > 0
        if q not in fitted:
            continue
        if not ok.any():
            continue
        y, f, n = window.observed[i, ok], predicted[i, ok], window.counts[i, ok]
        res = y - f
        ss_tot = float(np.sum(n * (y - np.average(y, weights=n)) ** 2))
        out[q] = {"readings": int(n.sum()), "times": int(ok.sum()), "rms": float(np.sqrt(np.average(res**2, weights=n))),
                  "r2": 1.0 - float(np.sum(n * res**2)) / ss_tot if ss_tot > 0 else float("nan"),
                  "chi2_reduced": float(np.sum(n * res**2) / sigma[i] ** 2 / max(ok.sum() - 1, 1))}
    return out
