"""Feature fidelity: no samples; only what decisions need, from exact distributions.

Rows are independent given μ (times in hours, values in the sensor's unit), so:

- First alarm row, by thinning. With p_h the exceedance probability of row h
  (:func:`~simengine.sensors.features.exceedance`) and p_max ≥ p_h over the
  rows (evaluated at μ_ext, the extreme μ from the per-asset max/min of the
  observable, the sign of the gain and the drift at either end; for RMS a
  Chernoff bound of the noncentral χ² tail), candidates come every
  G = ⌈log U / log(1 − p_max)⌉ rows and are accepted with probability
  p_h / p_max: the first accepted row has exactly the law of the first row
  whose feature exceeds. Rows at and after the stuck row are excluded. The
  value that fired is drawn from the feature's law given it exceeds. After a
  few rounds the still-undecided sensors (μ near or past the level) are
  settled with a per-row envelope (the same thinning, candidates per row).
- Transmitted count: see :mod:`simengine.sensors.counts` (exact for deadband
  0 and heartbeat-only rows, approximate otherwise).

Per window this costs O(n_sensors) numpy work plus O(candidate rows).
"""
from __future__ import annotations

import numpy as np

from simengine.sensors.counts import EdgeCounts
from simengine.sensors.features import MAX, RMS, draw_exceeding, draw_features, exceedance, max_level, quantise

_ROUNDS = 4


class FeatureLevel:
    """Feature-fidelity state of a :class:`~simengine.sensors.bank.SensorBank`."""

    def __init__(self, bank):
        b = self.bank = bank
        n = b.n_sensors
        self.held = np.full(n, np.nan)
        is_max = b.kind == MAX
        self.level = np.where(is_max, np.where(b.alarm_above, max_level(b.alarm_level, b.quantisation, True),
                                               max_level(b.alarm_level, b.quantisation, False)), b.alarm_level)
        self.sigma = np.where(is_max, b.noise_sd, b.sigma_eff)
        self.code = b.kind * 2 + b.alarm_above  # (feature, direction) group
        self.alarm_idx = np.flatnonzero(b.has_alarm)
        self.codes = [int(c) for c in np.unique(self.code[self.alarm_idx])]
        self.counts = EdgeCounts(b)

    def reset(self, idx):
        self.held[idx] = np.nan
        self.counts.reset(idx)

    # ---- alarms -------------------------------------------------------------------------------
    def _exceed(self, codes, s, mu, bound):
        b = self.bank
        p, log_q = np.empty(s.size), np.empty(s.size)
        for c in self.codes:
            sel = codes == c
            if sel.any():
                t = s[sel]
                p[sel], log_q[sel] = exceedance(c // 2, bool(c % 2), mu[sel], self.level[t], self.sigma[t],
                                                b.n_samples[t], b.dropout[t], bound=bound)
        return p, log_q

    def _mu_extreme(self, stack, t0_h, start_row, s):
        b = self.bank
        block = stack[start_row:]
        o_hi, o_lo = block.max(axis=0)[b.slot[s], b.asset[s]], block.min(axis=0)[b.slot[s], b.asset[s]]
        g = b.gain[s]
        d1 = b.drift[s] * (t0_h + (start_row + 0.5) * b.dt_h - b.install_h[s])
        d2 = b.drift[s] * (t0_h + (stack.shape[0] - 0.5) * b.dt_h - b.install_h[s])
        hi = np.where(g >= 0, g * o_hi, g * o_lo) + b.bias[s] + np.maximum(d1, d2)
        lo = np.where(g >= 0, g * o_lo, g * o_hi) + b.bias[s] + np.minimum(d1, d2)
        above = b.alarm_above[s]
        ext = np.where(above, hi, lo)
        rms = b.kind[s] == RMS
        if rms.any():
            a_hi, a_lo = np.maximum(np.abs(hi), np.abs(lo)), np.where((lo <= 0) & (hi >= 0), 0.0, np.minimum(np.abs(hi), np.abs(lo)))
            ext = np.where(rms, np.where(above, a_hi, a_lo), ext)
        return ext

    def _fired_values(self, codes, s, mu, p):
        b = self.bank
        u = b.rng.random(s.size)
        v = np.empty(s.size)
        for c in self.codes:
            sel = codes == c
            if sel.any():
                t = s[sel]
                v[sel] = draw_exceeding(c // 2, bool(c % 2), mu[sel], self.level[t], self.sigma[t], b.n_samples[t], b.dropout[t], p[sel], u[sel])
                if c // 2 == MAX:
                    v[sel] = quantise(v[sel], b.quantisation[t])
        return v

    def _alarms(self, stack, t0_h, start_row, mask, stuck_row):
        b, n_rows = self.bank, stack.shape[0]
        s = self.alarm_idx[mask[self.alarm_idx]]
        end = np.minimum(stuck_row[s], n_rows)
        s, end = s[end > start_row], end[end > start_row]
        if s.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        codes = self.code[s]
        p_max, log_q = self._exceed(codes, s, self._mu_extreme(stack, t0_h, start_row, s), bound=True)
        pos = np.full(s.size, start_row - 1.0)
        active = np.ones(s.size, bool)
        out_i, out_r, out_mu, out_p = [], [], [], []
        for _ in range(_ROUNDS):
            ii = np.flatnonzero(active)
            if ii.size == 0:
                break
            lq = log_q[ii]
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                gap = np.where(lq < 0, np.ceil(np.log(b.rng.random(ii.size)) / lq), np.inf)
            cand = pos[ii] + np.maximum(gap, 1.0)
            inside = cand < end[ii]
            active[ii[~inside]] = False
            ii, cand = ii[inside], cand[inside].astype(np.int64)
            if ii.size == 0:
                break
            mu = b.mu_at(stack, t0_h, cand, s[ii])
            p, _ = self._exceed(codes[ii], s[ii], mu, bound=False)
            take = b.rng.random(ii.size) * p_max[ii] < p
            out_i.append(ii[take]), out_r.append(cand[take]), out_mu.append(mu[take]), out_p.append(p[take])
            active[ii] = False
            active[ii[~take]] = True
            pos[ii[~take]] = cand[~take]
        ii = np.flatnonzero(active)
        if ii.size:
            self._settle(stack, t0_h, start_row, s[ii], codes[ii], pos[ii], end[ii], ii, (out_i, out_r, out_mu, out_p))
        if not out_i:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        ii, rows, mu, p = (np.concatenate(a) for a in (out_i, out_r, out_mu, out_p))
        return s[ii], rows, self._fired_values(codes[ii], s[ii], mu, p)

    def _settle(self, stack, t0_h, start_row, s, codes, pos, end, ii, out):
        """Thinning with a per-row envelope q_h (the cheap bound, exact but for RMS), for sensors still undecided."""
        b = self.bank
        rows = np.arange(start_row, stack.shape[0])[:, None]
        mu = b.mu_at(stack, t0_h, rows, s)
        q = self._exceed(np.tile(codes, rows.size), np.tile(s, rows.size), mu.ravel(), bound=True)[0].reshape(mu.shape)
        cand = (b.rng.random(q.shape) < q) & (rows > pos) & (rows < end)
        loose = b.kind[s] == RMS
        while True:
            cols = np.flatnonzero(cand.any(axis=0))
            if cols.size == 0:
                return
            r = cand[:, cols].argmax(axis=0)
            p = q[r, cols]
            tight = loose[cols]
            if tight.any():
                p[tight] = self._exceed(codes[cols[tight]], s[cols[tight]], mu[r[tight], cols[tight]], bound=False)[0]
            take = b.rng.random(cols.size) * q[r, cols] < p
            for lst, val in zip(out, (ii[cols[take]], r[take] + start_row, mu[r[take], cols[take]], p[take])):
                lst.append(val)
            cand[:, cols[take]] = False
            cand[r[~take], cols[~take]] = False

    # ---- interface ----------------------------------------------------------------------------
    def _hold(self, stack, t0_h, s, row):
        """Draw the value a sensor sticks at: one sample at `row`."""
        b = self.bank
        todo = np.isnan(self.held[s])
        if todo.any():
            t, r = s[todo], row[todo].astype(np.int64)
            x = b.mu_at(stack, t0_h, r, t) + b.noise_sd[t] * b.rng.standard_normal(t.size)
            self.held[t] = quantise(x, b.quantisation[t])

    def window(self, stack, t0_h, start_row, mask, stuck_row, count_wanted=True):
        n_rows = stack.shape[0]
        alarm = self._alarms(stack, t0_h, start_row, mask, stuck_row)
        sticking = np.flatnonzero(mask & (stuck_row >= start_row) & (stuck_row < n_rows))
        if sticking.size:
            self._hold(stack, t0_h, sticking, stuck_row[sticking])
        return (*alarm, self.counts.count(stack, t0_h, start_row, mask, stuck_row, count_wanted))

    def features(self, stack, t0_h, idx):
        b, n_rows = self.bank, stack.shape[0]
        rows = np.arange(n_rows)[:, None]
        mu = b.mu_at(stack, t0_h, rows, idx)
        out = np.empty_like(mu)
        for kind in np.unique(b.kind[idx]):
            cols = np.flatnonzero(b.kind[idx] == kind)
            t = idx[cols]
            out[:, cols] = draw_features(int(kind), mu[:, cols], b.noise_sd[t], b.quantisation[t], b.n_samples[t], b.dropout[t], b.rng)
        sr = b.stuck_row(t0_h)[idx]
        cols = np.flatnonzero(sr < n_rows)
        if cols.size:
            self._hold(stack, t0_h, idx[cols], np.maximum(sr[cols], 0))
            held = self.held[idx[cols]]
            held = np.where(b.kind[idx[cols]] == RMS, np.abs(held), held)
            out[:, cols] = np.where(rows >= sr[cols], held, out[:, cols])
        return out
