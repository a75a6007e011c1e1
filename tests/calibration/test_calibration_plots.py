"""Plots of a real calibration: readings recorded from the in-process virtual PLC and fitted."""

import dataclasses

import matplotlib.image as mpimg
import numpy as np
import pytest

import simengine
from simengine.calibration import FitSpec, align, baseline_for, fit, tag_gains, tags_of
from simengine.calibration.plots import plot_calibration, plot_crack_track, plot_remaining_life
from simengine.calibration.sources import record_virtual
from simengine.engine.physics_setup import build_params
from simengine.virtual_plc import PhysicsSource

FILES = ["calibration_fit.png", "calibration_residuals.png", "calibration_correlation.png"]


@pytest.fixture(scope="module")
def calibrations(tmp_path_factory):
    """An identifiable fit and one that is not: hoist heat and thermal resistance act only through their product."""
    sc = simengine.load_scenario("crane_fleet", {"fleet.count": 1})
    src = PhysicsSource(sc, [0], seed=1, true_params={"thermal_tau_s": 1500.0})
    rec = record_virtual(src, tmp_path_factory.mktemp("rec") / "readings.h5", duration_s=600, rate_hz=1.0)
    tags = tags_of(rec)
    w = align(rec.time_s, rec.values, rec.quality, tags, tag_gains(tags, sc.fleet.sensors), asset=0)
    params = build_params(sc.fleet, np.random.default_rng(0))
    T0 = float(np.nanmean(w.observed[0, :5]))
    base = baseline_for(params, 0, hoist_heat_W=src.heat_at_rated_load_W, ambient_C=T0, initial_temp_C=T0, initial_crack_m=3e-4)
    good = fit(w, FitSpec(("thermal_tau_s", "natural_frequency_hz")), base)
    bad = fit(w, FitSpec(("thermal_tau_s", "thermal_resistance_K_per_W", "hoist_heat_W", "natural_frequency_hz")), base)
    return good, bad


def assert_png(path, min_height=200, min_width=300):
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(path)
    assert image.shape[0] > min_height and image.shape[1] > min_width
    assert image.std() > 0.01  # not a blank canvas


def test_calibration_plots_written(calibrations, tmp_path):
    cal, _ = calibrations
    assert cal.identifiable
    written = plot_calibration(cal, tmp_path / "plots")
    assert [p.name for p in written] == FILES
    for path in written:
        assert_png(path)
    # one 2.6-inch panel per quantity with readings, at 120 dpi: three stacked panels
    assert mpimg.imread(written[0]).shape[0] > 2.5 * 2.6 * 120


def grey_fraction(path) -> float:
    """Share of the image in the heatmap's grey for a parameter that is not identifiable (0.75, 0.75, 0.75)."""
    rgb = mpimg.imread(path)[..., :3]
    return float(np.all(np.abs(rgb - 0.75) < 0.02, axis=-1).mean())


def test_non_identifiable_calibration_still_plots(calibrations, tmp_path):
    good, bad = calibrations
    assert not bad.identifiable and np.isinf(bad.sd).sum() == 2
    for path in plot_calibration(bad, tmp_path / "bad"):
        assert_png(path)
    # 12 of 16 cells grey; none in the identifiable fit's heatmap
    assert grey_fraction(tmp_path / "bad" / FILES[2]) > 0.1
    assert grey_fraction(plot_calibration(good, tmp_path / "good")[2]) < 0.01


def test_calibration_plots_skip_quantities_without_readings(calibrations, tmp_path):
    cal, _ = calibrations
    counts = cal.window.counts.copy()
    counts[1:] = 0  # only temperature was read
    observed = np.where(counts > 0, cal.window.observed, np.nan)
    cal = dataclasses.replace(cal, window=dataclasses.replace(cal.window, counts=counts, observed=observed))
    fit_png, residuals_png, _ = plot_calibration(cal, tmp_path)
    assert_png(fit_png)
    assert_png(residuals_png)
    assert mpimg.imread(fit_png).shape[0] < 1.5 * 2.6 * 120  # a single panel


def test_crack_track(tmp_path):
    t = np.linspace(0.0, 24 * 21, 200)
    truth = 3e-4 + 2e-7 * t
    estimate = truth + 1e-6 * np.sin(t)
    sd = np.full_like(t, 5e-6)
    sd[0] = np.inf  # before the first reading: unknown
    assert_png(plot_crack_track(t, estimate, sd, tmp_path / "crack.png", truth_m=truth))
    assert_png(plot_crack_track(t, estimate, sd, tmp_path / "no_truth.png"))


def test_crack_track_rejects_mismatched_lengths(tmp_path):
    with pytest.raises(ValueError, match="one length"):
        plot_crack_track(np.arange(3.0), np.zeros(3), np.zeros(2), tmp_path / "crack.png")


@pytest.mark.parametrize("survivors", [0, 300, 1000])
def test_remaining_life(tmp_path, survivors):
    rng = np.random.default_rng(0)
    hours = np.concatenate([rng.lognormal(np.log(2000.0), 0.4, 1000 - survivors), np.full(survivors, np.inf)])
    assert_png(plot_remaining_life(hours, tmp_path / "rul.png"))


def test_remaining_life_rejects_no_samples(tmp_path):
    with pytest.raises(ValueError, match="at least one sample"):
        plot_remaining_life([np.nan], tmp_path / "rul.png")
