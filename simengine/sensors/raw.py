"""Raw fidelity: every sample generated, reduced at the edge, sent by exception.

Samples of a row, in the sensor's unit: x = round_q(μ + σ ε), ε ~ N(0, 1), each
lost with probability d (NaN). Once stuck (sample times t0 + (h + k/n) dt, in
hours, at or after the stuck time) a sensor repeats its last value. The edge
reduces a row's kept samples to its mean, RMS sqrt(mean x²) or max; an alarm
fires in the first unstuck row whose feature is beyond its level; the deadband
chain (:func:`~simengine.sensors.edge.deadband_chain`) runs exactly and carries
its state across windows. Memory is bounded by processing sensors in chunks.

:func:`sample_rows` and :func:`reduce_rows` are public for the virtual PLC and
calibration. Meant for short horizons and few sensors: it costs n draws per row.
"""
from __future__ import annotations

import numpy as np

from simengine.sensors.edge import deadband_chain
from simengine.sensors.features import FEATURE_KINDS, MAX, MEAN, quantise


def sample_rows(mu, noise_sd, quantisation, dropout, n_samples: int, rng: np.random.Generator, *,
                stuck_at=None, stuck_value=None):
    """Samples (R, m, n) for row means `mu` (R, m); parameters per sensor (m,) or scalar.

    stuck_at (m,): index of the first stuck sample in each sensor's samples
    flattened in time order (≤ 0: stuck throughout, holding `stuck_value`, or
    its first sample where that is NaN; ≥ R·n: never). Lost samples are NaN.
    Returns (samples, held): held is the stuck value per sensor (NaN if none).
    """
    mu = np.asarray(mu, float)
    rows, m = mu.shape
    n = int(n_samples)
    sd, q, d = (np.broadcast_to(np.asarray(a, float), (m,)) for a in (noise_sd, quantisation, dropout))
    x = mu[:, :, None] + sd[None, :, None] * rng.standard_normal((rows, m, n))
    x = quantise(x, q[None, :, None])
    held = np.full(m, np.nan)
    if stuck_at is not None:
        stuck_at = np.asarray(stuck_at)
        for s in np.flatnonzero(stuck_at < rows * n):
            j = int(max(stuck_at[s], 0))
            if j == 0:
                v = stuck_value[s] if stuck_value is not None and not np.isnan(stuck_value[s]) else x[0, s, 0]
            else:
                v = x[(j - 1) // n, s, (j - 1) % n]
            x[j // n, s, j % n:] = v
            x[j // n + 1:, s, :] = v
            held[s] = v
    if np.any(d > 0):
        x[rng.random((rows, m, n)) < d[None, :, None]] = np.nan
    return x, held


def reduce_rows(samples, feature):
    """Edge features (R, m) of samples (R, m, n): 'mean', 'rms' or 'max' of the kept samples (NaN if none)."""
    kind = FEATURE_KINDS.index(feature) if isinstance(feature, str) else int(feature)
    kept = ~np.isnan(samples)
    count = kept.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == MAX:
            return np.where(count > 0, np.where(kept, samples, -np.inf).max(axis=-1), np.nan)
        x = np.where(kept, samples, 0.0)
        if kind == MEAN:
            return x.sum(axis=-1) / count
        return np.sqrt((x * x).sum(axis=-1) / count)


class RawLevel:
    """Raw-fidelity state of a :class:`~simengine.sensors.bank.SensorBank`: edge state and held values."""

    def __init__(self, bank, chunk_elements: int = 1 << 22):
        self.bank = bank
        self.chunk_elements = chunk_elements
        n = bank.n_sensors
        self.held = np.full(n, np.nan)
        self._value = np.full((1, n), np.nan)  # edge state before each row of the current window, and after
        self._time = np.full((1, n), -np.inf)
        self._t0 = None
        self._cache = np.full((0, n), np.nan)
        keys = bank.n_samples * len(FEATURE_KINDS) + bank.kind
        self._groups = [np.flatnonzero(keys == k) for k in np.unique(keys)]

    def reset(self, idx):
        self.held[idx] = np.nan
        self._value[:, idx] = np.nan
        self._time[:, idx] = -np.inf
        self._cache[:, idx] = np.nan

    def _enter(self, t0_h, n_rows):
        if self._t0 == t0_h and self._cache.shape[0] == n_rows:
            return
        self._t0 = t0_h
        self._value = np.repeat(self._value[-1:], n_rows + 1, axis=0)
        self._time = np.repeat(self._time[-1:], n_rows + 1, axis=0)
        self._cache = np.full((n_rows, self.bank.n_sensors), np.nan)

    def _chunks(self, idx, n_rows):
        for group in self._groups:
            sel = np.intersect1d(group, idx, assume_unique=True)
            if sel.size:
                size = max(1, self.chunk_elements // max(1, n_rows * int(self.bank.n_samples[sel[0]])))
                for i in range(0, sel.size, size):
                    yield sel[i:i + size]

    def _row_features(self, stack, t0_h, start_row, n_rows, chunk):
        """Features (R, m) of rows [start_row, W) computed from fresh samples; updates held values."""
        b = self.bank
        rows = np.arange(start_row, n_rows)
        mu = b.mu_at(stack, t0_h, rows[:, None], chunk)
        n = int(b.n_samples[chunk[0]])
        with np.errstate(invalid="ignore"):
            stuck_at = np.ceil(((b.stuck_h[chunk] - t0_h) / b.dt_h - start_row) * n - 1e-9)
        x, held = sample_rows(mu, b.noise_sd[chunk], b.quantisation[chunk], b.dropout[chunk], n, b.rng,
                              stuck_at=np.nan_to_num(stuck_at, posinf=np.iinfo(np.int64).max), stuck_value=self.held[chunk])
        got = ~np.isnan(held)
        self.held[chunk[got]] = held[got]
        return reduce_rows(x, int(b.kind[chunk[0]]))

    def window(self, stack, t0_h, start_row, mask, stuck_row, count_wanted=True):
        b = self.bank  # the count comes with the samples: it costs nothing more when not wanted
        n_rows = stack.shape[0]
        self._enter(t0_h, n_rows)
        row_end = t0_h + (np.arange(start_row, n_rows) + 1) * b.dt_h
        fired_s, fired_r, fired_v, sent = [], [], [], 0
        for chunk in self._chunks(np.flatnonzero(mask), n_rows - start_row):
            feats = self._row_features(stack, t0_h, start_row, n_rows, chunk)
            self._cache[start_row:, chunk] = feats
            rows = np.arange(start_row, n_rows)[:, None]
            stuck = rows >= stuck_row[chunk][None, :]
            level = b.alarm_level[chunk]
            with np.errstate(invalid="ignore"):
                beyond = np.where(b.alarm_above[chunk], feats > level, feats < level) & ~stuck
            hit = beyond.any(axis=0)
            first = beyond.argmax(axis=0)
            fired_s.append(chunk[hit])
            fired_r.append(first[hit] + start_row)
            fired_v.append(feats[first[hit], np.flatnonzero(hit)])
            out, values, times = deadband_chain(feats, row_end, b.deadband[chunk], b.heartbeat_h[chunk],
                                                self._value[start_row, chunk], self._time[start_row, chunk], stuck)
            self._value[start_row:, chunk] = values
            self._time[start_row:, chunk] = times
            sent += int(out.sum())
        cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt))
        return cat(fired_s, np.int64), cat(fired_r, np.int64), cat(fired_v, float), sent

    def features(self, stack, t0_h, idx):
        n_rows = stack.shape[0]
        if self._t0 == t0_h and self._cache.shape[0] == n_rows:
            out = self._cache[:, idx].copy()
        else:
            out = np.full((n_rows, idx.size), np.nan)
        missing = np.isnan(out).any(axis=0)
        if missing.any():
            for chunk in self._chunks(np.unique(idx[missing]), n_rows):
                feats = self._row_features(stack, t0_h, 0, n_rows, chunk)
                cols = np.flatnonzero(missing & np.isin(idx, chunk))
                out[:, cols] = feats[:, np.searchsorted(chunk, idx[cols])]
        return out
