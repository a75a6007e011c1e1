"""Exact sampling distributions of one row's edge feature, given the sample mean μ.

A sensor takes n samples in a row (interval), x_i = μ + σ ε_i with ε_i ~ N(0, 1),
quantised to multiples of q, each lost with probability d; values are in the
sensor's unit. The edge reduces the N ~ Bin(n, 1 − d) kept samples to one feature:

- mean: F = (1/N) Σ x_i ≈ N(μ, σ_eff² / n_eff)
- RMS:  F = sqrt((1/N) Σ x_i²), with N F² / σ_eff² ≈ χ'²(n_eff, n_eff μ² / σ_eff²)
- max:  P(F ≤ y) = E[Φ((y − μ)/σ)^N] = (d + (1 − d) Φ((y − μ)/σ))^n   (exact)

with n_eff = n (1 − d) and σ_eff² = σ² + q²/12 (Sheppard's correction for
quantisation: an approximation, accurate for q ≲ σ; it fails for q ≫ σ; and
for the RMS, Sankaran's approximation of χ'² past noncentrality 2·10⁴). For
the max, quantisation is exact instead: rounding is monotone, so max(round(x))
= round(max(x)) and "round(x) > L" is "x > q (⌊L/q⌋ + ½)" (see :func:`max_level`).

Every function here is vectorised over sensors; `kind` and `above` are scalars
(callers group sensors by feature and alarm direction). Tiny probabilities stay
accurate through `scipy.special` (ndtr, log_ndtr, log1p/expm1 forms).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import special, stats

MEAN, RMS, MAX = 0, 1, 2
FEATURE_KINDS = ("mean", "rms", "max")


def effective_sigma(noise_sd, quantisation):
    """σ_eff = sqrt(σ² + q²/12): sample scatter including quantisation (Sheppard)."""
    return np.sqrt(np.asarray(noise_sd, float) ** 2 + np.asarray(quantisation, float) ** 2 / 12.0)


def quantise(x, quantisation):
    """Round `x` to multiples of `quantisation` (no rounding where it is 0)."""
    q = np.asarray(quantisation, float)
    return np.where(q > 0, np.round(x / np.where(q > 0, q, 1.0)) * q, x)


def max_level(level, quantisation, above: bool):
    """Level on unquantised samples equivalent to `level` on quantised ones (exact, for the max)."""
    q = np.asarray(quantisation, float)
    safe = np.where(q > 0, q, 1.0)
    edge = (np.floor(level / safe) + 0.5) if above else (np.ceil(level / safe) - 0.5)
    return np.where(q > 0, edge * safe, level)


def _phi_inv_power(log_v, n, dropout):
    """z with (d + (1 − d) Φ(z))^n = V, given log V; NaN where V ≤ dᵑ (all samples lost)."""
    a = log_v / n
    tail = -np.expm1(a) / (1.0 - dropout)  # 1 − Φ(z), accurate when small
    head = (np.exp(a) - dropout) / (1.0 - dropout)  # Φ(z), accurate when small
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(tail < 0.5, -special.ndtri(np.minimum(tail, 1.0)), special.ndtri(np.maximum(head, 0.0)))
    return np.where(head > 0, z, np.nan)


def _chernoff_ncx2(x, df, nc, above: bool):
    """Chernoff bound on P(Y > x) (above) or P(Y < x) for Y ~ χ'²(df, nc): an upper bound, ≤ 1."""
    disc = np.sqrt(df * df + 4.0 * nc * x)
    u = np.where(nc > 0, (disc - df) / np.where(nc > 0, 2.0 * nc, 1.0), x / df)  # u = 1/(1 − 2t) at the optimum
    u = np.maximum(u, 1e-300)
    t = 0.5 * (1.0 - 1.0 / u)
    log_b = -t * x + 0.5 * df * np.log(u) + nc * t * u
    useful = (x > df + nc) if above else (x < df + nc)
    return np.where(useful, np.exp(np.minimum(log_b, 0.0)), 1.0)


def exceedance(kind: int, above: bool, mu, level, sigma, n, dropout, *, bound: bool = False):
    """P(row feature beyond `level`) and log(1 − P), for row mean μ.

    `sigma` is σ_eff for mean and RMS, the raw σ for the max (whose `level`
    should come from :func:`max_level`); `n` samples per row, `dropout` d. With
    σ = 0 the feature is deterministic and the alarm strict (F > L). With
    `bound=True` the RMS probability is a Chernoff upper bound (cheap; for
    thinning), otherwise the noncentral χ² tail (:func:`ncx2_tail`); mean and
    max are exact either way.
    """
    mu, level, sigma = np.broadcast_arrays(np.asarray(mu, float), np.asarray(level, float), np.asarray(sigma, float))
    n = np.asarray(n, float)
    d = np.asarray(dropout, float)
    if kind == RMS:
        return _exceed_rms(above, mu, level, sigma, n * (1.0 - d), bound)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == MEAN:
            z = (level - mu) / (sigma / np.sqrt(n * (1.0 - d)))
            p, log_q = (special.ndtr(-z), special.log_ndtr(z)) if above else (special.ndtr(z), special.log_ndtr(-z))
        else:
            z = (level - mu) / sigma
            if above:
                log_q = n * np.log1p(-(1.0 - d) * special.ndtr(-z))
                p = -np.expm1(log_q)
            else:
                log_c = np.logaddexp(np.log(d), np.log1p(-d) + special.log_ndtr(z))
                p = np.exp(n * log_c) * -np.expm1(n * (np.log(d) - log_c))
                log_q = np.log1p(-p)
    bad = np.isnan(p)  # σ = 0 and μ = L exactly: the strict alarm does not fire
    return np.where(bad, 0.0, p), np.where(bad, 0.0, log_q)


def _exceed_rms(above, mu, level, sigma, df, bound):
    p = np.where(np.abs(mu) > level, 1.0, 0.0) if above else np.where(np.abs(mu) < level, 1.0, 0.0)
    live = sigma > 0
    if live.any():
        s2 = sigma[live] ** 2
        k = np.broadcast_to(df, mu.shape)[live]
        x = k * np.maximum(level[live], 0.0) ** 2 / s2
        nc = k * mu[live] ** 2 / s2
        p[live] = _chernoff_ncx2(x, k, nc, above) if bound else ncx2_tail(x, k, nc, above)
    with np.errstate(divide="ignore"):
        return p, np.log1p(-p)


NC_SANKARAN = 2.0e4


def _sankaran(df, nc):
    """Sankaran's normal approximation of (Y / (k + λ))^h: returns (h, centre, scale)."""
    h = 1.0 - (2.0 / 3.0) * (df + nc) * (df + 3 * nc) / (df + 2 * nc) ** 2
    p = (df + 2 * nc) / (df + nc) ** 2
    m = (h - 1.0) * (1.0 - 3.0 * h)
    return h, 1.0 + h * p * (h - 1.0 - 0.5 * (2.0 - h) * m * p), h * np.sqrt(2 * p) * (1.0 + 0.5 * m * p)


def ncx2_tail(x, df, nc, above: bool):
    """P(Y > x) (above) or P(Y < x) for Y ~ χ'²(df, nc).

    scipy.stats.ncx2 up to nc = 2·10⁴; past it (where scipy costs tens of µs a
    value) Sankaran's approximation, whose relative error there is below 10⁻³
    down to tails of 10⁻¹².
    """
    x, df, nc = np.broadcast_arrays(*(np.asarray(a, float) for a in (x, df, nc)))
    out = np.empty(x.shape)
    big = nc > NC_SANKARAN
    if (~big).any():
        out[~big] = (stats.ncx2.sf if above else stats.ncx2.cdf)(x[~big], df[~big], nc[~big])
    if big.any():
        h, centre, scale = _sankaran(df[big], nc[big])
        z = ((x[big] / (df[big] + nc[big])) ** h - centre) / scale
        out[big] = special.ndtr(-z) if above else special.ndtr(z)
    return out


def ncx2_tail_inverse(p, df, nc, above: bool):
    """x with :func:`ncx2_tail` (x) = p."""
    p, df, nc = np.broadcast_arrays(*(np.asarray(a, float) for a in (p, df, nc)))
    out = np.empty(p.shape)
    big = nc > NC_SANKARAN
    if (~big).any():
        out[~big] = (stats.ncx2.isf if above else stats.ncx2.ppf)(p[~big], df[~big], nc[~big])
    if big.any():
        h, centre, scale = _sankaran(df[big], nc[big])
        z = -special.ndtri(p[big]) if above else special.ndtri(p[big])
        out[big] = (df[big] + nc[big]) * np.maximum(centre + z * scale, 1e-300) ** (1.0 / h)
    return out


def draw_exceeding(kind: int, above: bool, mu, level, sigma, n, dropout, p, u):
    """Feature value conditioned on exceeding `level` (inverse CDF on the tail).

    `p` is the exceedance probability from :func:`exceedance` (exact, not a
    bound) and `u` uniforms on (0, 1); same conventions as there. The max is
    returned unquantised (quantise it with :func:`quantise`).
    """
    mu, level, sigma, p, u = (np.asarray(a, float) for a in (mu, level, sigma, p, u))
    n = np.asarray(n, float)
    d = np.asarray(dropout, float)
    det = sigma <= 0
    s = np.where(det, 1.0, sigma)
    if kind == MEAN:
        s = s / np.sqrt(n * (1.0 - d))
        z = -special.ndtri(u * p) if above else special.ndtri(u * p)
        value = mu + s * z
    elif kind == MAX:
        with np.errstate(divide="ignore"):
            log_v = np.log1p(-u * p) if above else np.logaddexp(n * np.log(d), np.log(u) + np.log(p))
        value = mu + s * _phi_inv_power(log_v, n, d)
    else:
        k = n * (1.0 - d)
        nc = k * mu**2 / s**2
        y = ncx2_tail_inverse(u * p, k, nc, above)
        value = s * np.sqrt(y / k)
    det_value = np.abs(mu) if kind == RMS else mu
    return np.where(det, det_value, value)


def draw_features(kind: int, mu, noise_sd, quantisation, n, dropout, rng: np.random.Generator):
    """Row features drawn from their sampling distributions; `mu` (rows, sensors), the rest per sensor.

    mean: μ + σ_eff/√n_eff · Z; max: round(μ + σ Φ⁻¹((U^{1/n} − d)/(1 − d))), NaN if
    every sample was lost; RMS: sqrt(σ_eff² Y / n_eff), Y ~ χ'²(n_eff, n_eff μ²/σ_eff²).
    """
    mu = np.asarray(mu, float)
    n = np.asarray(n, float)
    d = np.asarray(dropout, float)
    if kind == MAX:
        z = _phi_inv_power(np.log(rng.random(mu.shape)), n, d)
        return quantise(mu + np.asarray(noise_sd, float) * z, quantisation)
    sigma = np.broadcast_to(effective_sigma(noise_sd, quantisation), mu.shape)
    k = n * (1.0 - d)
    if kind == MEAN:
        return mu + sigma / np.sqrt(k) * rng.standard_normal(mu.shape)
    s = np.where(sigma > 0, sigma, 1.0)
    y = rng.noncentral_chisquare(np.broadcast_to(k, mu.shape), k * mu**2 / s**2)
    return np.where(sigma > 0, s * np.sqrt(y / k), np.abs(mu))


@functools.lru_cache(maxsize=256)
def max_moments(n: int) -> tuple[float, float]:
    """Mean and standard deviation of the max of n standard normal samples."""
    z = np.linspace(-8.0, 9.0, 8001)
    log_pdf = np.log(n) - 0.5 * z * z - 0.5 * np.log(2 * np.pi) + (n - 1) * special.log_ndtr(z)
    w = np.exp(log_pdf)
    w /= w.sum()
    m = float((w * z).sum())
    return m, float(np.sqrt((w * (z - m) ** 2).sum()))


def feature_sd(kind: int, mu, noise_sd, quantisation, n, dropout):
    """Standard deviation of a row's feature (RMS by the delta method; max per :func:`max_moments`)."""
    n_eff = np.asarray(n, float) * (1.0 - np.asarray(dropout, float))
    sigma = effective_sigma(noise_sd, quantisation)
    if kind == MEAN:
        return sigma / np.sqrt(n_eff)
    if kind == MAX:
        sd_max = np.array([max_moments(max(1, int(round(k))))[1] for k in np.atleast_1d(n_eff).ravel()]).reshape(np.shape(n_eff))
        return np.sqrt((np.asarray(noise_sd, float) * sd_max) ** 2 + np.asarray(quantisation, float) ** 2 / 12.0)
    mu2 = np.asarray(mu, float) ** 2
    s2 = sigma**2
    return np.sqrt((2 * s2 * s2 + 4 * mu2 * s2) / n_eff) / (2 * np.sqrt(np.maximum(mu2 + s2, 1e-300)))
