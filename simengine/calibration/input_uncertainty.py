"""What an uncertain model input does to the fitted parameters: errors in variables, to first order.

The heating load over a gap in the readings is estimated (`simengine.calibration.heating`), with a
variance D per interval. An error e in it moves the residuals by G e, G = ∂r/∂heat_load, and the
least-squares estimate by (JᵀWJ)⁻¹JᵀW G e (W: the robust loss's IRLS weights, 1 for least squares), so
the parameters' covariance gains (JᵀWJ)⁻¹ B Bᵀ (JᵀWJ)⁻¹ with B = JᵀW G D^½. B takes one vector-Jacobian
product per parameter through the time-stepping model. No s² factor: the residuals are already in
units of their noise sd, and so are J and G.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np


@functools.lru_cache(maxsize=None)
def _pullbacks(residual):
    """(θ, args, cotangents (p, m)) -> cotangents·∂r/∂heat_load (p, n), jitted once per residual function
    r(θ, baseline, dt, load, heat_load, observed, weight)."""

    def vjps(theta, args, cotangents):
        baseline, dt_s, load, heat, observed, weight = args
        _, pullback = jax.vjp(lambda h: residual(theta, baseline, dt_s, load, h, observed, weight), heat)
        return jax.vmap(lambda c: pullback(c)[0])(cotangents)

    return jax.jit(vjps)


def heating_input_effect(residual, sol, heat_load_var: np.ndarray, args, irls_weights=None) -> np.ndarray | None:
    """B (p, n) at the solution `sol` (with .x, .jacobian), B Bᵀ = JᵀW G D GᵀWJ; None where no heating
    load was estimated (all of D zero). `args`: the residual's arguments after θ."""
    if not np.any(heat_load_var > 0):
        return None
    J = np.asarray(sol.jacobian)
    if irls_weights is not None:
        J = J * np.asarray(irls_weights)[:, None]
    jt_g = np.asarray(_pullbacks(residual)(sol.x, args, jnp.asarray(J.T)))
    return jt_g * np.sqrt(heat_load_var)[None, :]
