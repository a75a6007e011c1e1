"""Continuous mode's uncertainty is honest over many joints, not only for one seed.

Twenty joints of the virtual PLC (each seed its own traffic, lifts and sensor noise), eight weeks of hourly
readings each, tracked by `simengine calibrate continuous.enabled=true` (each joint recorded, then tracked from
its recording; the joints shared out over the two twin processes of the live tests): the crack's errors in its
own sd pool to about a unit normal, and the true remaining life falls at an evenly spread rank of its predicted
distribution (a distribution always too long would put every rank low).
"""

import numpy as np
import pytest
from scipy import stats

from calibration_setup import run_jobs, thinned
from simengine.config import build
from simengine.config.calibrate import CalibrateConfig
from simengine.engine.physics_setup import build_duty
from simengine.engine.simulation import replica_streams
from simengine.kinds.lift_duty import expected_driver_per_s
from simengine.physics.crack import paris_block, paris_driver_to_grow

TRUE_C, CRACK0, CRITICAL_M, HOUR, JOINTS = 4.0e-11, 0.008, 0.025, 3600.0, 20


def true_crack(scenario, seed: int, t_s: np.ndarray) -> np.ndarray:
    """The virtual PLC's hidden crack: the Paris law over the seed's daily drivers, hour by hour. A crack's growth
    depends on its cycles only through their Σ Δσ^m, so the depth after k hours is one block of the first k
    hours' summed drivers (the PLC's hourly steps agree with it to 1e-14)."""
    fleet = scenario.fleet
    duty = build_duty(fleet, scenario.horizon_years * 8760.0, replica_streams(seed, 0)["duty"])
    hours = int(round(t_s.max() / HOUR))
    driver = np.concatenate([[0.0], np.cumsum(duty.driver_day[np.arange(hours) // 24, 0] / 24.0)])
    a = np.asarray(paris_block(CRACK0, driver, TRUE_C, fleet.crack.paris_m, fleet.crack.geometry_Y))
    return np.interp(t_s, HOUR * np.arange(hours + 1), a)


@pytest.fixture(scope="module")
def joints(tmp_path_factory, twins):
    scenario = thinned(per_asset=4)
    fleet = scenario.fleet
    per_h = expected_driver_per_s(fleet.duty.settings, fleet.crack.paris_m) * HOUR
    cfgs = [build(CalibrateConfig, {
        "source": "virtual", "rate_hz": 1.0 / HOUR, "duration_s": 8 * 7 * 86400.0, "plots": False,
        "out_dir": str(tmp_path_factory.mktemp(f"joint{seed}")), "fit": {"parameters": ["vibration_rms0"]},
        "virtual": {"seed": seed, "true_params": {"paris_C": TRUE_C}, "initial_crack_m": CRACK0},
        "continuous": {"enabled": True, "window_s": 3 * 86400.0, "refit_every_s": 86400.0, "feature_s": HOUR,
                       "initial_crack_m": 0.0096, "initial_crack_sd_m": 0.002}}) for seed in range(JOINTS)]
    z, ranks = [], []
    for seed, job in enumerate(run_jobs(cfgs, scenario, twins)):
        tracker = job.continuous
        t = tracker.track_t_s
        truth = true_crack(scenario, seed, t)
        settled = t > t[0] + 3 * 86400.0
        z.append(((tracker.track[:, 0] - truth) / tracker.track_sd[:, 0])[settled])
        life_h = float(paris_driver_to_grow(truth[-1], CRITICAL_M, TRUE_C, fleet.crack.paris_m, fleet.crack.geometry_Y)) / per_h
        ranks.append(tracker.life.failure_probability(life_h)[0])
    return np.concatenate(z), np.array(ranks)


def test_the_crack_errors_pool_to_about_a_unit_normal(joints):
    z, _ = joints
    assert abs(np.mean(z)) < 0.5 and 0.6 < np.std(z) < 1.3, (np.mean(z), np.std(z))
    assert np.mean(np.abs(z) < 3.0) > 0.99


def test_the_true_remaining_life_falls_at_an_even_rank_of_its_distribution(joints):
    _, ranks = joints
    assert stats.kstest(ranks, "uniform").pvalue > 0.01, np.sort(ranks)
    assert np.sum((ranks < 0.05) | (ranks > 0.95)) <= 4, np.sort(ranks)  # 2 expected of 20
