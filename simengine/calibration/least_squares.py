"""Bounded, robust nonlinear least squares in one jitted call: Levenberg–Marquardt with exact Jacobians.

    minimise  ½ Σ_i f² ρ((r_i(x)/f)²)   subject to  lower ≤ x ≤ upper

r is any JAX-traceable residual function; its Jacobian J = ∂r/∂x is exact
(forward-mode autodiff through whatever r does, time-stepping included: one
pass carrying a tangent per parameter). Each iteration solves

    (JᵀWJ + λ D) δ = -JᵀW r,     D = diag(JᵀWJ) (Marquardt's scaling, kept at its running maximum)

with W the robust-loss weights ρ'(z) (iteratively reweighted least squares,
which has the same stationary points as the robust cost), projects x + δ on
the bounds and adapts λ by the gain ratio (Nielsen's rule). A parameter on a bound
that the descent direction pushes outward is held there for the step (an
active set), so the others still take their full Gauss–Newton step. The whole loop
is a `lax.while_loop`: no Python, no dispatch per iteration.

Losses ρ(z), z = (r/f)²: ``linear`` z; ``huber`` z for z ≤ 1, else 2√z - 1;
``soft_l1`` 2(√(1+z) - 1); ``cauchy`` ln(1+z) (the ones of
`scipy.optimize.least_squares`, with the same meaning of f_scale). The stopping
tolerances default to scipy's: ftol (relative fall of the cost in an accepted
step) and xtol (relative size of an accepted step, in scaled variables) 1e-8.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from simengine.config.calibrate import LOSSES  # declared with the configuration, which must not import JAX

# status codes: what stopped the iteration
NOT_FINITE, MAX_ITERATIONS, COST_CONVERGED, STEP_CONVERGED, NO_PROGRESS = -1, 0, 1, 2, 3
STATUS = {
    NOT_FINITE: "the residuals are not finite at the starting point",
    MAX_ITERATIONS: "stopped at the iteration limit before converging",
    COST_CONVERGED: "converged: the cost stopped falling (ftol)",
    STEP_CONVERGED: "converged: the step became negligible (xtol)",
    NO_PROGRESS: "converged: no step lowers the cost any further",
}


class Solution(NamedTuple):
    x: jax.Array  # (p,) the solution
    residuals: jax.Array  # (m,) r(x)
    jacobian: jax.Array  # (m, p) ∂r/∂x at x
    cost: jax.Array  # ½ Σ f² ρ(z) at x
    iterations: jax.Array  # residual and Jacobian evaluations
    status: jax.Array  # one of STATUS


def robust(z, loss: str):
    """ρ(z) and ρ'(z) of a loss, elementwise."""
    if loss == "linear":
        return z, jnp.ones_like(z)
    if loss == "huber":
        root = jnp.sqrt(jnp.maximum(z, 1.0))
        return jnp.where(z <= 1.0, z, 2.0 * root - 1.0), jnp.where(z <= 1.0, 1.0, 1.0 / root)
    if loss == "soft_l1":
        root = jnp.sqrt(1.0 + z)
        return 2.0 * (root - 1.0), 1.0 / root
    if loss == "cauchy":
        return jnp.log1p(z), 1.0 / (1.0 + z)
    raise ValueError(f"loss = {loss!r}: must be one of {LOSSES}")


def jacobian(residual, x, *args):
    """r(x) and the exact ∂r/∂x (m, p): one forward pass carrying a tangent per parameter (measured on the
    calibration model a little faster than `jax.linearize` then the tangents, or `jax.jacfwd`)."""
    def along(v):
        return jax.jvp(lambda y: residual(y, *args), (x,), (v,))

    return jax.vmap(along, out_axes=(None, 1))(jnp.eye(x.size, dtype=x.dtype))


class _Carry(NamedTuple):
    x: jax.Array
    r: jax.Array
    J: jax.Array
    cost: jax.Array
    damping: jax.Array
    nu: jax.Array
    D: jax.Array
    evaluations: jax.Array
    status: jax.Array


@partial(jax.jit, static_argnames=("residual", "loss", "max_evaluations"))
def solve(residual, x0, lower, upper, args=(), *, loss: str = "linear", f_scale=1.0, max_evaluations: int = 200,
          ftol=1e-8, xtol=1e-8) -> Solution:
    """Minimise the robust cost of `residual(x, *args)` within [lower, upper] from x0 (all (p,))."""

    def cost_of(r):
        return 0.5 * f_scale**2 * jnp.sum(robust((r / f_scale) ** 2, loss)[0])

    def normal_equations(r, J):
        w = robust((r / f_scale) ** 2, loss)[1]
        A = J.T @ (w[:, None] * J)
        return A, J.T @ (w * r)

    x0 = jnp.clip(x0, lower, upper)
    r0, J0 = jacobian(residual, x0, *args)
    A0, _ = normal_equations(r0, J0)
    D0 = jnp.maximum(jnp.diag(A0), 1e-300)
    finite = jnp.all(jnp.isfinite(r0)) & jnp.all(jnp.isfinite(J0))
    start = _Carry(x0, r0, J0, cost_of(r0), jnp.asarray(1e-3), jnp.asarray(2.0), D0, jnp.asarray(1),
                   jnp.where(finite, MAX_ITERATIONS, NOT_FINITE))

    def running(c: _Carry):
        return (c.status == MAX_ITERATIONS) & (c.evaluations < max_evaluations)

    def iterate(c: _Carry) -> _Carry:
        A, g = normal_equations(c.r, c.J)
        D = jnp.maximum(c.D, jnp.diag(A))
        # a parameter on a bound that the descent pushes outward stays there: solve for the others
        active = ((c.x <= lower) & (g > 0)) | ((c.x >= upper) & (g < 0))
        free = ~active
        S = jnp.where(free, 1.0 / jnp.sqrt(D), 0.0)  # Jacobi-scaled variables: parameters of any units
        M = S[:, None] * A * S[None, :] + c.damping * jnp.eye(x0.size) + jnp.diag(active.astype(A.dtype))
        delta = S * jnp.linalg.solve(M, -S * g)
        x_new = jnp.clip(c.x + delta, lower, upper)
        step = x_new - c.x
        # the Jacobian comes with the trial residual (a rejected trial, rare, wastes one)
        r_new, J_new = jacobian(residual, x_new, *args)
        cost_new = cost_of(r_new)
        predicted = -(step @ g) - 0.5 * step @ A @ step
        gain = (c.cost - cost_new) / jnp.where(predicted > 0, predicted, 1.0)
        # a point whose Jacobian is not finite (τ = 0 exactly: 0·∞) is no place to continue from
        accept = jnp.isfinite(cost_new) & (cost_new < c.cost) & jnp.all(jnp.isfinite(J_new))
        r, J = jnp.where(accept, r_new, c.r), jnp.where(accept, J_new, c.J)
        damping = jnp.where(accept, c.damping * jnp.maximum(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3), c.damping * c.nu)
        nu = jnp.where(accept, 2.0, 2.0 * c.nu)
        small_cost = accept & ((c.cost - cost_new <= ftol * c.cost) | (cost_new == 0.0))
        scale = jnp.sqrt(D)  # judge the step in the scaled variables, where every parameter counts alike
        small_step = accept & (jnp.linalg.norm(step * scale) <= xtol * (jnp.linalg.norm(c.x * scale) + xtol))
        stuck = damping > 1e16
        status = jnp.select([small_cost, small_step, stuck], [COST_CONVERGED, STEP_CONVERGED, NO_PROGRESS], MAX_ITERATIONS)
        return _Carry(jnp.where(accept, x_new, c.x), r, J, jnp.where(accept, cost_new, c.cost), damping, nu, D,
                      c.evaluations + 1, status)

    end = jax.lax.while_loop(running, iterate, start)
    return Solution(end.x, end.r, end.J, end.cost, end.evaluations, end.status)
