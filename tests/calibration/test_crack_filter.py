"""Crack filter and remaining life: closed forms, the floor of a systematic offset, and tracking the
virtual PLC's hidden crack (and its Paris coefficient) from its noisy, biased frequency sensors."""

import dataclasses
import math

import jax
import numpy as np
import pytest

import simengine
from simengine.calibration.crack_filter import CrackFilter, CrackFilterConfig
from simengine.calibration.rul import remaining_life
from simengine.config.validate import ConfigError
from simengine.fatigue.batch import FAILED, SURVIVED
from simengine.kinds.lift_duty import LiftDuty, driver_cv_per_day, expected_driver_per_s
from simengine.physics.crack import crossing_fraction, paris_block, paris_driver_to_grow
from simengine.physics.vibration import natural_frequency_hz, stiffness_ratio
from simengine.virtual_plc import PhysicsSource

M, Y, A_CRIT = 3.0, 1.12, 0.025
TRUE_C = 4e-11  # 2.4 times the fleet's median: a fast-growing joint the filter has to learn
WEEKS, BURN_IN_H = 8, 168


@pytest.fixture(scope="module")
def scenario():
    return simengine.load_scenario("crane_fleet", {"fleet.count": 1})


def config(**overrides):
    base = dict(initial_crack_m=0.008, initial_crack_sd_m=0.002, paris_C=1.65e-11, paris_C_cv=0.5, paris_m=M,
                geometry_Y=Y, section_depth_m=0.04, stiffness_sensitivity=0.8, natural_frequency_hz=1.5)
    return CrackFilterConfig(**{**base, **overrides})


# ---- remaining life ------------------------------------------------------------------------------------

def test_remaining_life_equals_the_closed_form_and_its_edge_cases():
    a, C, d_h = np.array([0.004, 0.004, 0.012, 0.030]), np.array([2e-11, 2e-11, 5e-11, 2e-11]), 7.7e6
    exact = float(paris_driver_to_grow(a[0], A_CRIT, C[0], M, Y)) / d_h
    # horizon ends 5 h after the exact failure of the first two: it falls in a partial last block
    rul = remaining_life(a, C, paris_m=M, geometry_Y=Y, critical_m=A_CRIT, driver_per_h=d_h, horizon_h=exact + 5.0)
    np.testing.assert_allclose(rul.hours[:2], exact, rtol=1e-6)
    np.testing.assert_allclose(rul.hours[2], float(paris_driver_to_grow(a[2], A_CRIT, C[2], M, Y)) / d_h, rtol=1e-6)
    assert rul.hours[3] == 0.0 and rul.status[3] == FAILED  # already past the critical depth
    short = remaining_life(a, C, paris_m=M, geometry_Y=Y, critical_m=A_CRIT, driver_per_h=d_h, horizon_h=exact / 2)
    assert np.isinf(short.hours[:2]).all() and (short.status[:2] == SURVIVED).all() and short.survives == 0.5
    np.testing.assert_array_equal(short.failure_probability([0.0, exact]), [0.25, 0.5])


def test_random_traffic_is_seeded_and_scatters_the_life_about_its_mean():
    a, C = np.full(200, 0.006), np.full(200, 3e-11)
    kw = dict(paris_m=M, geometry_Y=Y, critical_m=A_CRIT, driver_per_h=7.7e6, traffic_cv=0.3)
    one = remaining_life(a, C, rng=np.random.default_rng(5), **kw)
    two = remaining_life(a, C, rng=np.random.default_rng(5), **kw)
    np.testing.assert_array_equal(one.hours, two.hours)  # one shared load history for all samples
    exact = float(paris_driver_to_grow(0.006, A_CRIT, 3e-11, M, Y)) / 7.7e6
    # a life of ~N days under daily Gamma(cv 0.3) traffic is off its mean by ~0.3/√N
    assert abs(one.hours[0] / exact - 1.0) < 4 * 0.3 / math.sqrt(exact / 24)
    with pytest.raises(ValueError, match="traffic_cv = 0.3: a random traffic needs rng"):
        remaining_life(a, C, **kw)


@pytest.mark.parametrize("field, value", [("critical_m", 0.0), ("driver_per_h", -1.0), ("horizon_h", math.inf),
                                          ("block_h", -24.0), ("traffic_cv", -0.1)])
def test_remaining_life_bad_arguments_name_the_field(field, value):
    kw = {**dict(paris_m=M, geometry_Y=Y, critical_m=A_CRIT, driver_per_h=7.7e6), field: value}
    with pytest.raises(ValueError, match=f"{field} = {value}"):
        remaining_life(np.array([0.005]), np.array([2e-11]), **kw)


# ---- the filter's pieces -------------------------------------------------------------------------------

@pytest.mark.parametrize("traffic_cv", [0.3, 0.0])
def test_expected_driver_and_its_daily_scatter_match_the_lift_duty(scenario, traffic_cv):
    lifts = dataclasses.replace(scenario.fleet.duty.settings, traffic_cv=traffic_cv)  # 0: Poisson lifts alone
    duty = LiftDuty(lifts, 1, 20000 * 24.0, M, np.ones((1, len(lifts.load_classes_t))), np.random.default_rng(2))
    day = duty.driver_day[:, 0]
    assert day.mean() / 86400.0 == pytest.approx(expected_driver_per_s(lifts, M), rel=0.01, abs=0.0)
    assert day.std() / day.mean() == pytest.approx(driver_cv_per_day(lifts, M), rel=0.03)


def test_predict_without_data_follows_the_paris_law_and_widens():
    f = CrackFilter(config())
    sd0 = f.crack_sd_m
    f.predict(86400.0, 2e8)
    assert f.crack_m == pytest.approx(float(paris_block(0.008, 2e8, 1.65e-11, M, Y)), rel=1e-12, abs=0.0)
    assert f.crack_sd_m > sd0 and f.paris_C == pytest.approx(1.65e-11, rel=1e-12, abs=0.0)


def test_the_driver_scatter_and_the_walk_of_ln_C_widen_the_belief_as_documented():
    """Var a' = (∂a'/∂D · cv D)² for a day's driver D of relative sd cv, in one step or in 24;
    Var ln C grows by q dt."""
    cfg = config(initial_crack_sd_m=1e-12, paris_C_cv=0.1, lnC_random_walk_per_s=1e-9, driver_cv=0.3)
    D = 2e8
    day, hourly = CrackFilter(cfg), CrackFilter(cfg)
    day.predict(86400.0, D)
    for _ in range(24):
        hourly.predict(3600.0, D / 24)
    dadD = float(jax.grad(paris_block, argnums=1)(0.008, D, 1.65e-11, M, Y))
    var_lnC = math.log1p(0.1**2) + 1e-9 * 86400
    # C and D enter the Paris law as C·D only, so ∂a'/∂ln C = D ∂a'/∂D: ln C's prior variance adds its share
    expected = (dadD * D) ** 2 * (0.3**2 + math.log1p(0.1**2))
    assert day.covariance[0, 0] == pytest.approx(expected, rel=1e-9, abs=0.0)
    assert hourly.crack_sd_m == pytest.approx(day.crack_sd_m, rel=0.01, abs=0.0)
    assert day.covariance[1, 1] == pytest.approx(var_lnC, rel=1e-12) and hourly.covariance[1, 1] == pytest.approx(var_lnC)


def test_a_systematic_offset_floors_the_crack_sd_however_many_readings():
    """No growth, readings of f(a) + b exactly at the prior: a linear Kalman filter at a fixed point, so
    after N windows of variance r,  Var a = 1 / (1/σ_a² + s² / (σ_b² + r/N)),  s = ∂f/∂a,
    with σ_b² = σ_bias²/n_sensors + σ_f0², and without the offset the sd falls as 1/√N."""
    a, n, r = 0.012, 2000, 1e-5
    f_true = float(natural_frequency_hz(1.5, stiffness_ratio(a, 0.04, 0.8)))
    slope = 1.5 * 0.5 / math.sqrt(float(stiffness_ratio(a, 0.04, 0.8))) * 2 * 0.8 * a / 0.04**2
    floored = CrackFilter(config(initial_crack_m=a, frequency_bias_sd_hz=0.002, frequency_sensors=4,
                                 natural_frequency_sd_hz=0.001))
    naive = CrackFilter(config(initial_crack_m=a))
    for _ in range(n):
        for f in (floored, naive):
            f.update(f_true, r)
    var_b = 0.002**2 / 4 + 0.001**2
    assert floored.crack_sd_m == pytest.approx(1.0 / math.sqrt(1 / 0.002**2 + slope**2 / (var_b + r / n)), rel=1e-6, abs=0.0)
    assert naive.crack_sd_m == pytest.approx(1.0 / math.sqrt(1 / 0.002**2 + slope**2 * n / r), rel=1e-6, abs=0.0)
    assert floored.crack_sd_m > 10 * naive.crack_sd_m


@pytest.mark.parametrize("field, value, rule", [
    ("initial_crack_m", -0.001, "must be > 0"), ("initial_crack_m", 0.05, "must be below section_depth_m"),
    ("paris_C_cv", -0.5, "must be >= 0"), ("frequency_sensors", 0, "must be > 0"), ("paris_C", math.nan, "must be finite"),
])
def test_bad_configuration_names_the_field_value_and_rule(field, value, rule):
    with pytest.raises(ConfigError, match=rf"{field} = {value!r}: {rule}"):
        config(**{field: value})


def test_every_configuration_problem_is_listed_at_once_and_bad_calls_are_refused():
    with pytest.raises(ConfigError) as err:
        config(initial_crack_sd_m=0.0, geometry_Y=-1.0)
    assert [p.field for p in err.value.problems] == ["initial_crack_sd_m", "geometry_Y"]
    f = CrackFilter(config())
    with pytest.raises(ValueError, match="dt_s = -1.0"):
        f.predict(-1.0, 0.0)
    with pytest.raises(ValueError, match="f_var_hz2 = 0.0"):
        f.update(1.49, 0.0)
    f.update(math.nan, 1e-4)  # every reading lost: nothing learnt
    assert f.crack_m == 0.008


# ---- against the virtual PLC ---------------------------------------------------------------------------

def track(scenario, seed):
    """Eight weeks, hour by hour: the PLC's four biased frequency sensors into the filter."""
    fleet = scenario.fleet
    src = PhysicsSource(scenario, [0], seed=seed, true_params={"paris_C": TRUE_C}, initial_crack_m=0.008)
    sensor = next(s for s in fleet.sensors if s.observes == "natural_frequency_hz")
    tags = [i for i, t in enumerate(src.tagmap().tags) if t.quantity == "natural_frequency_hz"]
    # the prior of an inspection that sized the crack 20 % too deep; f0 known to 0.001 Hz (~2500 healthy readings)
    cfg = CrackFilterConfig.for_fleet(fleet, initial_crack_m=0.0096, initial_crack_sd_m=0.002,
                                      natural_frequency_sd_hz=0.001)
    filt = CrackFilter(cfg)
    driver_h = expected_driver_per_s(fleet.duty.settings, M) * 3600.0
    noise_var = sensor.noise_sd**2 + sensor.quantisation**2 / 12.0
    rows = []
    for _ in range(WEEKS * 168):
        y = src.step(3600.0)[tags]
        good = y[np.isfinite(y)]
        filt.predict(3600.0, driver_h)
        if good.size:
            filt.update(float(good.mean()), noise_var / good.size)
        rows.append((float(src.truth()["crack_m"][0]), filt.crack_m, filt.crack_sd_m))
    return src, cfg, filt, np.array(rows), driver_h


@pytest.fixture(scope="module")
def tracked(scenario):
    """Three joints (sensor biases, traffic): an error persists for weeks, so one joint is one draw of coverage."""
    return [track(scenario, seed) for seed in (3, 4, 5)]


def test_the_filter_tracks_the_hidden_crack_with_honest_uncertainty(tracked):
    z = []
    for _, cfg, filt, rows, _ in tracked:
        truth, est, sd = rows[BURN_IN_H:].T
        assert truth[-1] - truth[0] > 5 * sd[-1]  # the crack grew, by far more than the filter's uncertainty
        assert est[-1] - est[0] > 0.5 * (truth[-1] - truth[0])  # ... and the filter saw it grow
        assert sd[-1] < cfg.initial_crack_sd_m / 4
        z.append((truth - est) / sd)
    z = np.abs(np.concatenate(z))
    assert (z < 3).mean() >= 0.99
    assert (z < 2).mean() >= 0.80


@pytest.mark.parametrize("joint", [0, 1, 2])
def test_the_filter_learns_the_paris_coefficient(tracked, joint):
    _, cfg, filt, _, _ = tracked[joint]
    error_prior, error_post = math.log(cfg.paris_C / TRUE_C), math.log(filt.paris_C / TRUE_C)
    assert abs(error_post) < abs(error_prior) / 2
    assert abs(error_post) < 3 * filt.ln_paris_C_sd
    assert filt.ln_paris_C_sd < math.sqrt(math.log1p(cfg.paris_C_cv**2))


def test_posterior_samples_follow_the_belief_and_keep_the_crack_positive(tracked):
    filt = tracked[0][2]
    a, C = filt.posterior_samples(4000, np.random.default_rng(0))
    sample_cov = np.cov(np.stack([a, np.log(C)]))
    cov = filt.covariance[:2, :2]
    assert np.corrcoef(np.stack([a, np.log(C)]))[0, 1] == pytest.approx(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), abs=0.05)
    np.testing.assert_allclose(np.diag(sample_cov), np.diag(cov), rtol=0.1)
    near_zero = CrackFilter(config(initial_crack_m=0.001, initial_crack_sd_m=0.002))
    a, _ = near_zero.posterior_samples(1000, np.random.default_rng(0))
    assert a.size == 1000 and (a > 0).all()


def test_the_remaining_life_band_brackets_the_true_life_of_the_virtual_plc(tracked):
    src, cfg, filt, _, driver_h = tracked[0]
    a, C = filt.posterior_samples(4000, np.random.default_rng(1))
    rul = remaining_life(a, C, paris_m=M, geometry_Y=Y, critical_m=A_CRIT, driver_per_h=driver_h,
                         traffic_cv=cfg.driver_cv, rng=np.random.default_rng(2))
    lo, mid, hi = rul.quantiles()
    a_now = float(src.truth()["crack_m"][0])
    closed_form = float(paris_driver_to_grow(a_now, A_CRIT, TRUE_C, M, Y)) / driver_h
    # the PLC's own future, day by day (its days are drawn: their traffic is the truth's), to the critical depth
    hours = 0.0
    while True:
        a0 = float(src.truth()["crack_m"][0])
        src.step(86400.0)
        a1 = float(src.truth()["crack_m"][0])
        if a1 >= A_CRIT:
            hours += 24.0 * float(crossing_fraction(a0, a1, A_CRIT, M))
            break
        hours += 24.0
    assert lo < hours < hi and lo < closed_form < hi
    assert hi / lo < 4  # a band that says something
    assert abs(hours / closed_form - 1) < 0.1  # the PLC's traffic averages out over months
