"""The calibration core: solver against scipy, exact Jacobians, recovery of hidden parameters, honest intervals."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import least_squares as scipy_least_squares

from calibration_setup import TRUTH, one_percent_noise
from simengine.calibration import FitSpec, OUTPUTS, align, baseline_for, fit, predict, tag_gains, tags_of
from simengine.calibration import least_squares
from simengine.calibration.sources import record_virtual
from simengine.config import ConfigError
from simengine.engine.physics_setup import build_params
from simengine.physics.thermal import thermal_step
from simengine.plc.readings import Quality, QualityAssessor
from simengine.virtual_plc import PhysicsSource

PHYSICAL = ("thermal_tau_s", "thermal_resistance_K_per_W", "natural_frequency_hz", "vibration_rms0")
FULL = PHYSICAL + ("ambient_C", "initial_temp_C")


def window_and_baseline(sc, recording, asset=0, window=None):
    if window is None:
        tags = tags_of(recording)
        window = align(recording.time_s, recording.values, recording.quality, tags, tag_gains(tags, sc.fleet.sensors),
                       asset=asset)
    w = window
    params = build_params(sc.fleet, np.random.default_rng(0))
    T0 = float(np.nanmean(w.observed[0, :10]))
    from simengine.kinds.crane import CRANE
    return w, baseline_for(params, 0, hoist_heat_W=CRANE.heat_at_rated_load_W(sc.fleet.duty.settings), ambient_C=T0, initial_temp_C=T0,
                           initial_crack_m=3e-4)


@pytest.fixture(scope="module")
def hour(tmp_path_factory):
    """One simulated hour of 1 Hz readings from the virtual PLC, 1 % sensor noise."""
    sc = one_percent_noise()
    src = PhysicsSource(sc, [0], seed=5, true_params=TRUTH)
    rec = record_virtual(src, tmp_path_factory.mktemp("cal") / "readings.h5", duration_s=3600, rate_hz=1.0)
    w, base = window_and_baseline(sc, rec)
    return sc, src, rec, w, base


# -- the solver ---------------------------------------------------------------------------------

def _decay(x, t, y):
    return x[0] * jnp.exp(-t / x[1]) + x[2] - y


@pytest.mark.parametrize("loss", ["linear", "huber", "soft_l1", "cauchy"])
def test_solver_matches_scipy_least_squares(loss):
    rng = np.random.default_rng(1)
    t = np.linspace(0.0, 10.0, 400)
    y = 3.0 * np.exp(-t / 2.5) + 0.5 + 0.05 * rng.standard_normal(t.size)
    y[::37] += 2.0  # outliers, for the robust losses
    x0 = np.array([1.0, 1.0, 0.0])
    ours = least_squares.solve(_decay, jnp.asarray(x0), jnp.full(3, -np.inf), jnp.full(3, np.inf), (t, y), loss=loss,
                               f_scale=0.1, ftol=1e-13, xtol=1e-13)
    ref = scipy_least_squares(lambda x: np.asarray(_decay(x, t, y)), x0, loss=loss, f_scale=0.1, xtol=1e-14, ftol=1e-14,
                              gtol=1e-14)
    assert int(ours.status) > 0
    np.testing.assert_allclose(np.asarray(ours.x), ref.x, rtol=1e-6)


def test_solver_respects_bounds_like_scipy():
    t = np.linspace(0.0, 10.0, 200)
    y = 3.0 * np.exp(-t / 2.5) + 0.5
    lower, upper = np.array([0.0, 0.0, 0.8]), np.array([10.0, 10.0, 2.0])  # the offset's truth (0.5) is excluded
    ours = least_squares.solve(_decay, jnp.array([1.0, 1.0, 1.0]), jnp.asarray(lower), jnp.asarray(upper), (t, y),
                               ftol=1e-13, xtol=1e-13)
    ref = scipy_least_squares(lambda x: np.asarray(_decay(x, t, y)), [1.0, 1.0, 1.0], bounds=(lower, upper), xtol=1e-14,
                              ftol=1e-14, gtol=1e-14)
    assert np.asarray(ours.x)[2] == 0.8
    np.testing.assert_allclose(np.asarray(ours.x), ref.x, rtol=1e-6)


def test_jacobian_through_the_time_stepping_model_is_exact(hour):
    """∂T/∂τ of the stepped model equals the closed form of the RC law under constant heat."""
    _, _, _, _, base = hour
    n, dt, load = 300, 2.0, 0.4
    names = ("thermal_tau_s", "thermal_resistance_K_per_W", "initial_temp_C")
    x = jnp.array([900.0, 0.006, 12.0])

    def temperature(theta):
        return predict(theta, names, base, jnp.full(n, dt), jnp.full(n, load))[0]

    _, J = least_squares.jacobian(lambda th: temperature(th), x)
    t = dt * np.arange(1, n + 1)
    steady = base.ambient_C + 0.006 * base.hoist_heat_W * load
    T = np.asarray(temperature(x))
    np.testing.assert_allclose(T, steady + (12.0 - steady) * np.exp(-t / 900.0), rtol=1e-12)
    dT_dtau = (12.0 - steady) * np.exp(-t / 900.0) * t / 900.0**2
    dT_dR = base.hoist_heat_W * load * (1.0 - np.exp(-t / 900.0))
    np.testing.assert_allclose(np.asarray(J[:, 0]), dT_dtau, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.asarray(J[:, 1]), dT_dR, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(J[:, 2]), np.exp(-t / 900.0), rtol=1e-10)


def test_model_steps_the_engines_own_thermal_law(hour):
    _, _, _, w, base = hour
    T = np.asarray(predict(jnp.array([1500.0]), ("thermal_tau_s",), base, w.dt_s, w.load_factor))[0]
    expected, temp = [], base.initial_temp_C
    for dt, load in zip(w.dt_s[:50], w.load_factor[:50]):
        temp = float(thermal_step(temp, base.hoist_heat_W * load, base.ambient_C, dt, 1500.0,
                                  float(base.asset.thermal_resistance_K_per_W)))
        expected.append(temp)
    np.testing.assert_allclose(T[:50], expected, rtol=1e-12)


# -- recovery and honesty -------------------------------------------------------------------------

def test_one_hour_at_one_percent_noise_recovers_the_hidden_parameters(hour):
    _, src, _, w, base = hour
    cal = fit(w, FitSpec(FULL), base)
    assert cal.converged and cal.identifiable and not cal.warnings
    ambient = float(src._inputs(1.0).ambient_C[0])
    truth = {**TRUTH, "ambient_C": ambient}
    for name, true in truth.items():
        i = cal.names.index(name)
        assert cal.ci_low[i] <= true <= cal.ci_high[i], (name, cal.values[i], cal.sd[i], true)
        assert cal.values[i] == pytest.approx(true, rel=0.01), name
        assert cal.values[i] != pytest.approx(base.value(name), rel=1e-3) or name == "ambient_C"  # it moved from the start
    assert 0.8 < cal.residual_variance < 1.25
    assert all(g["r2"] > 0.9 for q, g in cal.goodness.items() if q != "natural_frequency_hz")


COVERAGE_NAMES = ("thermal_tau_s", "thermal_resistance_K_per_W", "vibration_rms0")


def coverage_hits(seeds) -> np.ndarray:
    """For each of COVERAGE_NAMES, how many of the seeds' ten-minute windows have its 95 % interval hold the truth."""
    sc = one_percent_noise()
    hits = np.zeros(len(COVERAGE_NAMES))
    for seed in seeds:
        src = PhysicsSource(sc, [0], seed=100 + seed, true_params=TRUTH)
        tagmap = src.tagmap()
        assessor = QualityAssessor(tagmap)
        blocks = [assessor.block(k, np.arange(len(tagmap.tags)), src.step(1.0)) for k in range(1, 601)]
        tags = list(tagmap.tags)
        w = align(np.array([b.t_s for b in blocks]), np.array([b.values for b in blocks]),
                  np.array([b.quality for b in blocks]), tags, tag_gains(tags, sc.fleet.sensors), asset=0)
        _, base = window_and_baseline(sc, None, window=w)
        cal = fit(w, FitSpec(COVERAGE_NAMES + ("ambient_C", "initial_temp_C")), base)
        hits += [cal.ci_low[i] <= TRUTH[n] <= cal.ci_high[i] for i, n in enumerate(COVERAGE_NAMES)]
    return hits


def test_intervals_cover_the_truth_at_their_nominal_rate(twins):
    """Laplace intervals are honest: over 40 independent windows the 95 % intervals hold the truth ~95 % of the time
    (the windows shared out over the twin processes)."""
    hits = sum(twins.map(coverage_hits, (range(0, 20), range(20, 40))))
    assert np.all(hits >= 33), hits  # P(X <= 32 | n=40, p=0.95) < 0.2 %


def test_readings_flagged_bad_are_excluded_and_counted(hour):
    sc, _, rec, _, base = hour
    values, quality = rec.values.copy(), rec.quality.copy()
    temps = [i for i, q in enumerate(rec.quantities) if q == "temperature_C"]
    values[100:400, temps] = 900.0  # a burst the PLC flags out of range; were it used, the fit would be wrecked
    quality[100:400, temps] = Quality.OUT_OF_RANGE
    tags = tags_of(rec)
    w = align(rec.time_s, values, quality, tags, tag_gains(tags, sc.fleet.sensors), asset=0)
    assert w.excluded["OUT_OF_RANGE"] == 300 * len(temps)
    assert np.all(w.counts[0, 100:400] == 0)
    cal = fit(w, FitSpec(FULL), base)
    assert cal.value("thermal_tau_s") == pytest.approx(TRUTH["thermal_tau_s"], rel=0.01)


def test_robust_loss_resists_outliers_the_linear_loss_does_not(hour):
    sc, _, rec, _, base = hour
    values = rec.values.copy()
    temps = [i for i, q in enumerate(rec.quantities) if q == "temperature_C"]
    rng = np.random.default_rng(0)
    rows = rng.choice(np.arange(1800, 3600), 180, replace=False)  # spikes in the second half, inside the valid range
    values[np.ix_(rows, temps)] += 8.0
    tags = tags_of(rec)
    w = align(rec.time_s, values, rec.quality, tags, tag_gains(tags, sc.fleet.sensors), asset=0)
    spec = dict(parameters=("thermal_tau_s", "thermal_resistance_K_per_W", "ambient_C", "initial_temp_C"),
                noise_sd={"temperature_C": 0.3})
    plain, robust = fit(w, FitSpec(**spec), base), fit(w, FitSpec(**spec, loss="cauchy"), base)
    err = {k: abs(c.value("thermal_resistance_K_per_W") / TRUTH["thermal_resistance_K_per_W"] - 1) for k, c in
           (("plain", plain), ("robust", robust))}
    assert err["plain"] > 0.02 and err["robust"] < 0.005, err


def test_non_identifiable_parameters_warn_and_get_no_finite_interval(hour):
    _, _, _, w, base = hour
    cal = fit(w, FitSpec(("thermal_tau_s", "thermal_resistance_K_per_W", "hoist_heat_W", "ambient_C")), base)
    assert not cal.identifiable
    text = " ".join(cal.warnings)
    assert "not identifiable" in text and "hoist_heat_W" in text and "thermal_resistance_K_per_W" in text
    free = [cal.names.index("hoist_heat_W"), cal.names.index("thermal_resistance_K_per_W")]
    assert np.all(np.isinf(cal.sd[free])) and np.isfinite(cal.sd[cal.names.index("thermal_tau_s")])
    # a crack a hundredth of the section deep leaves the stiffness sensitivity all but invisible
    cal = fit(w, FitSpec(("natural_frequency_hz", "stiffness_sensitivity", "vibration_rms0")), base)
    assert not cal.identifiable and "stiffness_sensitivity" in " ".join(cal.warnings)


# -- clear errors -------------------------------------------------------------------------------

def test_bad_specs_list_every_problem(hour):
    _, _, _, w, base = hour
    with pytest.raises(ConfigError) as err:
        fit(w, FitSpec(("thermal_tau", "thermal_tau_s"), initial={"ambient_C": 3.0}, loss="l2", confidence=1.5), base)
    text = str(err.value)
    for piece in ("thermal_tau", "fit.initial.ambient_C", "fit.loss", "fit.confidence"):
        assert piece in text


def test_too_little_all_bad_or_missing_readings_are_clear_errors(hour):
    sc, _, rec, w, base = hour
    tags = tags_of(rec)
    gains = tag_gains(tags, sc.fleet.sensors)
    short = align(rec.time_s[:5], rec.values[:5], rec.quality[:5], tags, gains, asset=0)
    with pytest.raises(ConfigError, match="too little data"):
        fit(short, FitSpec(FULL), base)
    temps = [i for i, q in enumerate(rec.quantities) if q == "temperature_C"]
    quality = rec.quality.copy()
    quality[:, temps] = Quality.NOT_FINITE
    with pytest.raises(ConfigError, match=r"readings\[temperature_C\].*0 good"):
        align(rec.time_s, rec.values, quality, tags, gains, asset=0, needed=("temperature_C",))
    no_temp = [t for t in tags if t.quantity != "temperature_C"]
    keep = [i for i, t in enumerate(tags) if t.quantity != "temperature_C"]
    with pytest.raises(ConfigError, match=r"tags\[temperature_C\]"):
        align(rec.time_s, rec.values[:, keep], rec.quality[:, keep], no_temp, gains, asset=0, needed=("temperature_C",))
    with pytest.raises(ConfigError, match="tags.load_factor"):
        align(rec.time_s, rec.values, rec.quality, tags, gains, asset=3)


def test_same_readings_same_answer(hour):
    _, _, _, w, base = hour
    a, b = fit(w, FitSpec(FULL), base), fit(w, FitSpec(FULL), base)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.covariance, b.covariance)
    assert len(OUTPUTS) == a.predicted.shape[0]


def test_missed_scans_are_bridged_exactly(hour):
    """A poll in step with the PLC catches about every other scan: the loads bracketing a missed scan are its
    own load, so the fit from half the scans agrees with the fit from all of them (within their noise)."""
    sc, _, rec, w, base = hour
    rng = np.random.default_rng(4)
    keep = np.ones(rec.time_s.size, bool)
    keep[1::2] = rng.random(keep[1::2].size) < 0.3  # 70 % of every other scan missed, never two in a row
    tags = tags_of(rec)
    half = align(rec.time_s[keep], rec.values[keep], rec.quality[keep], tags, tag_gains(tags, sc.fleet.sensors), asset=0)
    assert half.gaps > 1000 and half.gap_s == 0.0  # every gap one scan long: bridged, no warning
    all_, part = fit(w, FitSpec(FULL), base), fit(half, FitSpec(FULL), base)
    for name in PHYSICAL:
        i = all_.names.index(name)
        assert abs(part.values[i] - all_.values[i]) < part.sd[i], name
    assert not part.warnings
