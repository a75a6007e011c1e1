"""Missed PLC scans: the motor's heating over them, exact from a load counter, estimated (and its
uncertainty carried into the intervals) without one.

A thermal fit to an hour of readings pins τ to 0.2 %; half a second of a lift's heat misplaced at one
missed scan in ten moved τ 4-10 sd before the estimate's uncertainty was carried (a live Modbus run on a
busy machine did exactly that). Here the scans are dropped at random in process, as a loaded poller does.
"""

import dataclasses

import numpy as np
import pytest
from scipy import stats

from calibration_setup import TRUTH
from simengine.calibration import FitSpec, align, fit, predict, tag_gains, tags_of
from simengine.calibration.baseline import baseline
from simengine.calibration.heating import load_over_gaps
from simengine.config import ConfigError
from simengine.plc.readings import Quality
from simengine.plc.tags import LOAD_COUNTER

THERMAL = ("thermal_tau_s", "thermal_resistance_K_per_W", "ambient_C", "initial_temp_C")


@pytest.fixture(scope="module")
def readings(hour_of_seed_8):
    """An hour and a bit of 1 Hz readings (1 % noise) with the load counter, and which rows a poller
    missing a quarter of the scans at random would have caught."""
    sc, _, rec = hour_of_seed_8
    caught = np.flatnonzero(np.random.default_rng(3).random(3600) >= 0.25) + 100
    return sc, rec, caught


def window(sc, rec, rows, *, counter=True):
    tags = tags_of(rec)
    quality = rec.quality[rows].copy()
    if not counter:  # a PLC without one: every counter reading bad
        quality[:, [i for i, t in enumerate(tags) if t.quantity == LOAD_COUNTER]] = Quality.OUT_OF_RANGE
    return align(rec.time_s[rows], rec.values[rows], quality, tags, tag_gains(tags, sc.fleet.sensors), asset=0)


@pytest.mark.parametrize("m", [2, 3, 5])
def test_a_short_gap_takes_the_mean_and_variance_over_where_the_load_may_change(m):
    """m - 1 hidden loads, the change from `before` to `after` equally likely after any of them."""
    before, after = 0.2, 0.9
    load = np.array([before, after, after])
    dt = np.array([1.0, float(m), 1.0])
    estimate, var = load_over_gaps(load, dt, dt > 1.5, 1.0, 20.0)
    hidden_before = np.arange(m)  # how many of the m - 1 hidden loads were still `before`
    means = (after + hidden_before * before + (m - 1 - hidden_before) * after) / m
    assert estimate[1] == pytest.approx(means.mean(), rel=1e-12)
    assert var[1] == pytest.approx(means.var(), rel=1e-12)
    assert estimate[[0, 2]].tolist() == [before, after] and var[[0, 2]].tolist() == [0.0, 0.0]


def test_a_long_gap_takes_the_window_mean_with_the_spread_of_such_means():
    load = np.tile(np.repeat([0.0, 0.8], 30), 10)  # half-minute lifts
    dt = np.ones(load.size)
    dt[300] = 60.0  # a minute missed: many lifts' worth of load unknown
    estimate, var = load_over_gaps(load, dt, dt > 1.5, 1.0, 20.0)
    assert estimate[300] == pytest.approx(np.average(np.delete(load, 300)), rel=1e-12)
    assert 0.0 < var[300] < 0.01 * np.var(load)  # a minute spans a whole lift cycle: its mean hardly varies


def test_a_gap_longer_than_the_load_holds_still_is_a_long_one_however_few_scans_it_hides():
    """At one reading in 5 s, 75 s are 15 scans, but a 60 s lift fits inside: the window's mean, not the
    readings either side (idle at both ends would say no load at all)."""
    load = np.tile(np.repeat([0.0, 0.8], 12), 20)  # 60 s lifts read every 5 s
    dt = np.full(load.size, 5.0)
    dt[100] = 75.0
    estimate, var = load_over_gaps(load, dt, dt > 7.5, 5.0, 60.0)
    assert estimate[100] == pytest.approx(np.average(np.delete(load, 100)), rel=1e-12) and var[100] > 0


def test_a_counter_spike_reset_or_second_counter_is_not_taken_for_heat(readings):
    sc, rec, caught = readings
    tags = tags_of(rec)
    j = next(i for i, t in enumerate(tags) if t.quantity == LOAD_COUNTER)
    rows = np.arange(100, 1300)
    clean = window(sc, rec, rows)

    def heat(values, tag_list=tags):
        return align(rec.time_s[rows], values, rec.quality[rows], tag_list, tag_gains(tag_list, sc.fleet.sensors),
                     asset=0).heat_load_factor

    spiked = rec.values[rows].copy()
    spiked[500, j] = 1.0e6  # an out-of-range fault the tag's limits do not catch: a counter may be anywhere
    reset = rec.values[rows].copy()
    reset[700:, j] -= reset[700, j]  # the counter restarts from zero
    for values, fell_back in ((spiked, [500, 501]), (reset, [700])):
        h = heat(values)
        np.testing.assert_array_equal(np.delete(h, fell_back), np.delete(clean.heat_load_factor, fell_back))
        np.testing.assert_array_equal(h[fell_back], clean.load_factor[fell_back])  # the sampled load instead
    twice = tags + [tags[j]._replace(name="sts_crane00.load_time_s.copy")]
    with pytest.raises(ConfigError, match=r"tags\[load_time_s\].*one load counter per asset"):
        heat(np.column_stack([rec.values[rows], rec.values[rows, j]]), twice)


def test_a_counter_that_is_not_load_time_is_flagged(readings):
    sc, rec, caught = readings
    tags = tags_of(rec)
    j = next(i for i, t in enumerate(tags) if t.quantity == LOAD_COUNTER)
    values = rec.values.copy()
    values[:, j] *= 3.0  # say, a counter of minutes labelled seconds
    w = align(rec.time_s[caught], values[caught], rec.quality[caught], tags, tag_gains(tags, sc.fleet.sensors), asset=0)
    assert w.counter_ratio == pytest.approx(3.0, rel=0.05) and window(sc, rec, caught).counter_ratio == pytest.approx(1.0, abs=0.02)
    cal = fit(w, FitSpec(THERMAL), baseline(sc, w))
    assert any("load counter rose 3" in x for x in cal.warnings), cal.warnings


def test_a_load_counter_makes_the_heating_over_missed_scans_exact(readings):
    sc, rec, caught = readings
    every = window(sc, rec, np.arange(100, 3700))
    w = window(sc, rec, caught)
    assert w.gaps > 500 and not np.any(w.heat_load_var)
    # the counter's mean over each gap is the mean of the one-second heating loads the poller missed
    ends = np.searchsorted(every.start_s + every.time_s, w.start_s + w.time_s)
    cumulative = np.concatenate([[0.0], np.cumsum(every.heat_load_factor * every.dt_s)])
    missed_mean = (cumulative[ends[1:] + 1] - cumulative[ends[:-1] + 1]) / w.dt_s[1:]
    np.testing.assert_allclose(w.heat_load_factor[1:], missed_mean, rtol=1e-9, atol=1e-12)
    cal = fit(w, FitSpec(THERMAL, confidence=0.99), baseline(sc, w))
    assert not any("widens" in x or "estimated" in x for x in cal.warnings), cal.warnings
    assert w.heat_estimated == 0 and any("the load counter gives the heating over them" in x for x in cal.warnings)
    for name in THERMAL[:2]:
        i = cal.names.index(name)
        assert cal.ci_low[i] <= TRUTH[name] <= cal.ci_high[i], (name, cal.values[i], cal.sd[i])


def test_a_counter_in_hours_reads_the_same_and_one_in_energy_units_is_refused(readings):
    sc, rec, caught = readings
    tags = tags_of(rec)
    j = next(i for i, t in enumerate(tags) if t.quantity == LOAD_COUNTER)
    in_hours = [t._replace(unit="h") if i == j else t for i, t in enumerate(tags)]
    values = rec.values[caught].copy()
    values[:, j] /= 3600.0
    w = align(rec.time_s[caught], values, rec.quality[caught], in_hours, tag_gains(in_hours, sc.fleet.sensors), asset=0)
    np.testing.assert_allclose(w.heat_load_factor, window(sc, rec, caught).heat_load_factor, rtol=1e-9, atol=1e-12)
    in_kwh = [t._replace(unit="kWh") if i == j else t for i, t in enumerate(tags)]
    with pytest.raises(ConfigError, match=r"tags\[sts_crane00.load_time_s\].unit.*kWh.*s, h"):
        tag_gains(in_kwh, sc.fleet.sensors)


def fits_of(draws, w, base, names, truth):
    """Each draw's fit: readings simulated from the model over window `w` with the draw's heating load and
    temperature noise; (values, sd, how many times the estimated heating widens the sd) of τ and R."""
    values, sds, widened = [], [], []
    for heating, noise in draws:
        observed = w.observed.copy()
        observed[0] = np.asarray(predict(truth, names, base, w.dt_s, w.load_factor, heating))[0] + noise
        cal = fit(dataclasses.replace(w, observed=observed), FitSpec(names), base)
        values.append(cal.values[:2])
        sds.append(cal.sd[:2])
        widened.append([float(next(x for x in cal.warnings if "widens" in x).split(f"{n} ×")[1].split(",")[0])
                        for n in names[:2]])
    return np.array(values), np.array(sds), np.array(widened)


def test_without_a_counter_the_intervals_carry_the_estimated_heating(readings, twins):
    """Monte Carlo: readings simulated from the model with the hidden loads drawn where the gaps hide
    them (the change after any missed scan alike) and fresh noise; the estimates scatter as widely as
    the reported sd says, and far more widely than the sd would without the estimate's variance."""
    sc, rec, caught = readings
    w = window(sc, rec, caught, counter=False)
    assert np.count_nonzero(w.heat_load_var) > 50
    base = baseline(sc, w)
    names = THERMAL
    truth = np.array([TRUTH[n] if n in TRUTH else base.value(n) for n in names])
    m = np.rint(w.dt_s / np.percentile(np.diff(w.time_s), 10)).astype(int)
    before, after = np.concatenate([[w.load_factor[0]], w.load_factor[:-1]]), w.load_factor
    hidden = w.heat_load_var > 0
    sigma = 0.3 / np.sqrt(np.maximum(w.counts[0], 1))  # 1 % of 30 K per tag
    rng = np.random.default_rng(11)
    draws = []
    for _ in range(80):
        still_before = np.floor(rng.random(w.n) * m)  # of the m - 1 hidden loads, how many before the change
        heating = np.where(hidden, (after + still_before * before + (m - 1 - still_before) * after) / m, w.heat_load_factor)
        draws.append((heating, sigma * rng.standard_normal(w.n)))
    # the same 80 draws as one process would fit, shared out over the twin processes
    halves = twins.map(fits_of, (draws[:40], draws[40:]), (w, w), (base, base), (names, names), (truth, truth))
    estimates, sds, widened = (np.concatenate(k) for k in zip(*halves))
    spread, reported = np.std(estimates, axis=0, ddof=1), np.median(sds, axis=0)
    unwidened = reported / np.median(widened, axis=0)
    # 80 draws give the spread to ±8 % (1 sd); the bounds are about 3 sd of it
    assert np.all((0.75 < spread / reported) & (spread / reported < 1.3)), (spread, reported)
    assert np.all(spread / unwidened > 1.5), (spread, unwidened)
    z = (np.array(estimates) - truth[:2]) / np.array(sds)
    assert np.mean(np.abs(z) < stats.norm.ppf(0.975)) > 0.85


def test_a_robust_fit_carries_the_estimated_heating_too(readings):
    """The robust losses weigh the input's effect by their IRLS weights: without outliers, about as the
    least-squares fit does."""
    sc, rec, caught = readings
    w = window(sc, rec, caught, counter=False)
    base = baseline(sc, w)
    plain, huber = fit(w, FitSpec(THERMAL), base), fit(w, FitSpec(THERMAL, loss="huber"), base)
    assert any("widens" in x for x in huber.warnings), huber.warnings
    np.testing.assert_allclose(huber.sd[:2], plain.sd[:2], rtol=0.25)
