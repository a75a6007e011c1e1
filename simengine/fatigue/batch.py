"""Time-accelerated fatigue batches: years of load cycles for thousands of replicas in seconds.

Each replica is one welded detail with its own Paris constants (C, m), initial
flaw a0 and load level s, under one load history: blocks of cycles (a week
of crane lifts, say) whose counts vary with the season and with traffic.
Block n applies the driver D[n] = B[n] · s^m · Σ_k n_k Δσ_k^m (MPa^m), with
B[n] the shared block multiplier.

Constant geometry factor Y (`run_constant_Y`): the Paris integral is linear
in the cumulative driver (see `simengine.physics.crack`),

    I(a_0, a_n) = ∫_{a_0}^{a_n} a^(-m/2) da = C (Y√π)^m Σ_{i<n} D[i],

with I and its inverse in a form exact at every m (m = 2 included),

so the failure block is found by bisection on the cumulative multiplier
(shared by all replicas) and the crossing time within it exactly: no
stepping, O(log n_blocks) per replica.

Crack length-dependent Y (`run_variable_Y`): the growth law is still
autonomous in the cumulative driver s, so it still separates, now into an
integral with no closed form,

    s(a) = ∫_{a0}^{a} da' / (C π^{m/2} Y(a')^m a'^{m/2}),

computed per replica by composite Clenshaw–Curtis quadrature in ln(a/a0)
(`simengine.fatigue.paris_quadrature`, with its error bound): the failure
block is found from s(a_crit) by the same bisection as for constant Y, and the
recorded cracks are s^{-1} at the records' cumulative drivers (Newton on the
quadrature's interpolant). No block is stepped; the result is the exact
solution up to the quadrature's error (~1e-13 relative in the life), where
stepping block by block (Heun, `crack_growth.predictor_corrector_block`) errs
by O(D^2). Both run in float64 on whatever device JAX finds.

Status codes, per replica (a diverging replica never fails the batch):
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simengine.fatigue.paris_quadrature import crack_at, driver_table, driver_to_fail
from simengine.physics.crack import paris_integral, paris_integral_inverse
from simengine.physics.pytree import pytree_dataclass

SURVIVED, FAILED, INVALID, DIVERGED = 0, 1, 2, 3
_RECORDS_PER_PASS = 256  # Y(a) records inverted per pass (bounds the batch's working memory)
STATUS = {
    SURVIVED: "survived the horizon",
    FAILED: "failed: the crack reached its critical depth",
    INVALID: "invalid parameters (C <= 0, m <= 0, a0 <= 0, a0 >= a_crit, not finite)",
    DIVERGED: "diverged: the crack length stopped being finite before the critical depth",
}
__doc__ += "\n".join(f"    {code}: {text}" for code, text in STATUS.items())


@pytree_dataclass
class ReplicaParams:
    """Per-replica arrays of shape (n_replicas,)."""

    paris_C: float
    paris_m: float
    initial_flaw_m: float
    critical_m: float
    driver_per_block: float  # s^m Σ n_k Δσ_k^m of one nominal block, MPa^m


@pytree_dataclass
class BatchResult:
    failure_block: float  # fractional block index at failure (block n spans [n, n+1)); inf if none
    status: int
    crack_m: float  # (n_replicas, n_records) crack at the end of each record span, held at a_crit after failure


def _valid(p: ReplicaParams):
    finite = (jnp.isfinite(p.paris_C) & jnp.isfinite(p.paris_m) & jnp.isfinite(p.initial_flaw_m)
              & jnp.isfinite(p.driver_per_block))
    return (finite & (p.paris_C > 0) & (p.paris_m > 0) & (p.initial_flaw_m > 0) & (p.initial_flaw_m < p.critical_m)
            & (p.driver_per_block >= 0))


@partial(jax.jit, static_argnames=("record_every",))
def run_constant_Y(params: ReplicaParams, multipliers, Y, record_every: int) -> BatchResult:
    """All replicas under one load history with constant Y; exact.

    multipliers: (n_blocks,) block multipliers B; record_every: blocks per record span.
    """
    cum, rec = _cumulative(multipliers, record_every)
    return jax.vmap(lambda p: _one_constant_Y(p, cum, Y, rec))(params)


def _cumulative(multipliers, record_every: int):
    """cum[n] = Σ_{i<n} B[i] (n_blocks + 1,) and the block index that ends each record span (the last: the horizon)."""
    cum = jnp.concatenate([jnp.zeros(1), jnp.cumsum(multipliers)])
    n_blocks = multipliers.shape[0]
    rec = jnp.minimum(jnp.arange(1, -(-n_blocks // record_every) + 1) * record_every, n_blocks)
    return cum, rec


def _failure_block(cum, needed):
    """Fractional block index at which the cumulative multiplier reaches `needed`; inf if it never does.
    Within a block the driver accrues uniformly in time, so the fraction is linear in the multiplier."""
    n = jnp.searchsorted(cum, needed, side="left")  # first boundary with cum >= needed
    within = n < cum.shape[0]
    n_c = jnp.clip(n, 1, cum.shape[0] - 1)
    frac = (needed - cum[n_c - 1]) / jnp.where(cum[n_c] > cum[n_c - 1], cum[n_c] - cum[n_c - 1], 1.0)
    return jnp.where(within & (needed >= 0), n_c - 1 + frac, jnp.inf)


def _one_constant_Y(p: ReplicaParams, cum, Y, rec):
    k = p.paris_C * (Y * jnp.sqrt(jnp.pi)) ** p.paris_m
    rate = k * p.driver_per_block  # Paris integral per unit of cumulative multiplier
    to_fail = paris_integral(p.initial_flaw_m, p.critical_m, p.paris_m)
    needed = jnp.where(rate > 0, to_fail / jnp.where(rate > 0, rate, 1.0), jnp.inf)  # cumulative multiplier to fail
    failure_block = _failure_block(cum, needed)
    ok = _valid(p)
    status = jnp.where(~ok, INVALID, jnp.where(jnp.isfinite(failure_block), FAILED, SURVIVED))
    crack = jnp.minimum(paris_integral_inverse(p.initial_flaw_m, rate * cum[rec], p.paris_m), p.critical_m)
    return BatchResult(failure_block=jnp.where(ok, failure_block, jnp.nan), status=status,
                       crack_m=jnp.where(ok, crack, jnp.nan))


def run_variable_Y(params: ReplicaParams, multipliers, geometry, width_m, record_every: int) -> BatchResult:
    """All replicas under one load history with a crack-length dependent Y(a); `geometry` is a
    function Y(a, width_m) of jax.numpy arrays (static, so it is compiled in).

    The driver to failure and the crack at each record come from the quadrature of
    `simengine.fatigue.paris_quadrature` (no block is stepped); the failure block from the
    cumulative multiplier as for constant Y. Two compiled calls, the table and what is read from it:
    in one program XLA schedules the table's producers into the readers' loops, ~20 % slower on CPU."""
    table = _variable_Y_table(params, geometry, width_m)
    return _variable_Y_read(params, table, multipliers, record_every)


@partial(jax.jit, static_argnames=("geometry",))
def _variable_Y_table(params: ReplicaParams, geometry, width_m):
    C, m, a0, ac = (jnp.asarray(x, dtype=float) for x in (params.paris_C, params.paris_m, params.initial_flaw_m,
                                                          params.critical_m))
    return driver_table(jnp, C, m, a0, ac, geometry, width_m)


@partial(jax.jit, static_argnames=("record_every",))
def _variable_Y_read(params: ReplicaParams, table, multipliers, record_every: int) -> BatchResult:
    cum, rec = _cumulative(multipliers, record_every)
    a0, ac, D = (jnp.asarray(x, dtype=float) for x in (params.initial_flaw_m, params.critical_m,
                                                       params.driver_per_block))
    to_fail = driver_to_fail(table)
    needed = jnp.where(D > 0, to_fail / jnp.where(D > 0, D, 1.0), jnp.inf)  # cumulative multiplier to fail
    failure_block = jnp.where(jnp.isnan(needed), jnp.inf, _failure_block(cum, needed))
    crack = _records(table, D, cum[rec], a0, ac)
    ok = _valid(params)
    status = jnp.where(~ok, INVALID, jnp.where(jnp.isfinite(failure_block), FAILED,
                                                jnp.where(jnp.isfinite(crack[:, -1]), SURVIVED, DIVERGED)))
    return BatchResult(failure_block=jnp.where(ok, failure_block, jnp.nan), status=status,
                       crack_m=jnp.where(ok[:, None], crack, jnp.nan))


def _records(table, per_block, marks, a0, ac):
    """Crack (m) at each record, (n_replicas, n_records): `crack_at` on at most `_RECORDS_PER_PASS` records
    at a time, so its temporaries (several arrays of the output's size per pass) stay small next to the output."""
    n = marks.shape[0]
    if n <= _RECORDS_PER_PASS:
        return crack_at(jnp, table, per_block, marks, a0, ac)
    passes = -(-n // _RECORDS_PER_PASS)
    padded = jnp.concatenate([marks, jnp.full(passes * _RECORDS_PER_PASS - n, marks[-1])])
    crack = jax.lax.map(lambda mk: crack_at(jnp, table, per_block, mk, a0, ac), padded.reshape(passes, -1))
    return jnp.moveaxis(crack, 0, 1).reshape(per_block.shape[0], -1)[:, :n]


def _np_integral(a0, a1, m):
    """NumPy twin of `physics.crack.paris_integral`: ∫_{a0}^{a1} a^(-m/2) da, exact at every m."""
    p = 1.0 - m / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log(a1 / a0)
        q = np.where(p == 0, z, np.expm1(p * z) / np.where(p == 0, 1.0, p))
    return a0**p * q


def _np_inverse(a0, x, m):
    """NumPy twin of `physics.crack.paris_integral_inverse`: a1 with ∫_{a0}^{a1} = x; +inf past a runaway."""
    p = 1.0 - m / 2.0
    py = p * x / a0**p
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.where(p == 0, x / a0**p, np.log1p(np.maximum(py, -1.0)) / np.where(p == 0, 1.0, p))
        return np.where(py <= -1.0, np.inf, a0 * np.exp(q))


def reference_numpy_stepping(params: ReplicaParams, multipliers: np.ndarray, Y: float) -> np.ndarray:
    """Hand-vectorised NumPy: every block stepped by the closed form, a → a1, all replicas at once.
    Returns the fractional failure block (inf where none); the benchmark's reference."""
    C, m, a, ac, D = (np.asarray(x, float) for x in (params.paris_C, params.paris_m, params.initial_flaw_m,
                                                    params.critical_m, params.driver_per_block))
    k = C * (Y * np.sqrt(np.pi)) ** m
    failed = np.full(a.shape, np.inf)
    for n, b in enumerate(multipliers):
        a1 = _np_inverse(a, k * (b * D), m)
        hit = np.isinf(failed) & (a1 >= ac)
        if hit.any():
            failed[hit] = n + _np_integral(a[hit], ac[hit], m[hit]) / _np_integral(a[hit], a1[hit], m[hit])
        a = np.minimum(a1, ac)
    return failed


def reference_numpy_quadrature(params: ReplicaParams, multipliers: np.ndarray, geometry, width_m: float,
                               record_every: int):
    """`run_variable_Y`'s algorithm (`paris_quadrature` with numpy) in plain NumPy, `geometry` a NumPy
    function Y(a, width_m): the same-algorithm baseline. Returns (failure_block, crack_m)."""
    C, m, a0, ac, D = (np.asarray(x, float) for x in (params.paris_C, params.paris_m, params.initial_flaw_m,
                                                    params.critical_m, params.driver_per_block))
    cum = np.concatenate([[0.0], np.cumsum(multipliers)])
    n_blocks = multipliers.size
    rec = np.minimum(np.arange(1, -(-n_blocks // record_every) + 1) * record_every, n_blocks)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        table = driver_table(np, C, m, a0, ac, geometry, width_m)
        needed = np.where(D > 0, driver_to_fail(table) / np.where(D > 0, D, 1.0), np.inf)
        n = np.searchsorted(cum, needed, side="left")
        n_c = np.clip(n, 1, cum.size - 1)
        frac = (needed - cum[n_c - 1]) / np.where(cum[n_c] > cum[n_c - 1], cum[n_c] - cum[n_c - 1], 1.0)
        failure_block = np.where((n < cum.size) & (needed >= 0), n_c - 1 + frac, np.inf)
        crack = crack_at(np, table, D, cum[rec], a0, ac)
    return failure_block, crack


def reference_numpy_same_algebra(params: ReplicaParams, multipliers: np.ndarray, Y: float) -> np.ndarray:
    """NumPy with our algebra (one add per replica-block in the Paris integral): isolates what JAX adds."""
    C, m, a0, ac, D = (np.asarray(x, float) for x in (params.paris_C, params.paris_m, params.initial_flaw_m,
                                                     params.critical_m, params.driver_per_block))
    rate = C * (Y * np.sqrt(np.pi)) ** m * D
    u, uc = np.zeros_like(a0), _np_integral(a0, ac, m)
    failed = np.full(a0.shape, np.inf)
    for n, b in enumerate(multipliers):
        u1 = u + rate * b
        hit = np.isinf(failed) & (u1 >= uc)
        if hit.any():
            failed[hit] = n + (uc[hit] - u[hit]) / (u1[hit] - u[hit])
        u = u1
    return failed


def reference_numpy_bisection(params: ReplicaParams, multipliers: np.ndarray, Y: float, record_every: int = 0):
    """Our constant-Y algorithm (bisection on the cumulative multiplier) in plain NumPy: the
    same-algorithm baseline that shows what JAX itself adds. With `record_every`, also the crack
    records of `run_constant_Y` (n_replicas, n_records), as the batch computes them."""
    C, m, a0, ac, D = (np.asarray(x, float) for x in (params.paris_C, params.paris_m, params.initial_flaw_m,
                                                     params.critical_m, params.driver_per_block))
    rate = C * (Y * np.sqrt(np.pi)) ** m * D
    needed = _np_integral(a0, ac, m) / rate
    cum = np.concatenate([[0.0], np.cumsum(multipliers)])
    n = np.searchsorted(cum, needed, side="left")
    inside = (n >= 1) & (n < cum.size)
    n_c = np.clip(n, 1, cum.size - 1)
    frac = (needed - cum[n_c - 1]) / (cum[n_c] - cum[n_c - 1])
    failure_block = np.where(inside, n_c - 1 + frac, np.inf)
    if not record_every:
        return failure_block
    n_blocks = multipliers.size
    rec = np.minimum(np.arange(1, -(-n_blocks // record_every) + 1) * record_every, n_blocks)
    crack = np.minimum(_np_inverse(a0[:, None], rate[:, None] * cum[rec][None, :], m[:, None]), ac[:, None])
    return failure_block, crack
