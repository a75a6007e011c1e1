"""A repair re-predicts its own asset alone: the window then holds what a whole-fleet prediction gives."""

import jax
import numpy as np
import simpy

from simengine.engine.fleet_physics import STATE_FIELDS, FleetPhysics, Threshold
from simengine.physics.asset import AssetInputs, AssetParams, AssetState, advance


class HourlyDuty:
    """Loads that differ per asset and hour, the same whichever window asks."""

    def __init__(self, n):
        self.n = n

    def inputs(self, t0_h, n_rows, dt_h):
        rows = int(round(t0_h / dt_h)) + np.arange(n_rows)
        u = np.stack([np.random.default_rng(int(r)).uniform(size=(5, self.n)) for r in rows], axis=1)
        return AssetInputs(paris_driver=u[0] * 1e8, miner_increment=u[1] * 1e-3, heat_W=u[2] * 1e5,
                           ambient_C=10 + 10 * u[3], load_factor=u[4])


def test_a_reset_re_predicts_its_asset_as_the_whole_fleet_would():
    n, W, r = 4, 24, 6
    rng = np.random.default_rng(1)
    full = np.ones(n)
    params = AssetParams(paris_C=rng.uniform(1e-12, 2e-11, n), paris_m=3.0 * full, geometry_Y=1.12 * full,
                         section_depth_m=0.05 * full, stiffness_sensitivity=0.5 * full, natural_frequency_hz=0.3 * full,
                         vibration_rms0=full, wear_vibration_gain=3.0 * full, thermal_tau_s=2400.0 * full,
                         thermal_resistance_K_per_W=4e-4 * full, wear_rate_per_s=rng.uniform(1e-8, 3e-8, n),
                         wear_reference_C=60.0 * full, wear_doubling_K=10.0 * full)
    state0 = AssetState(crack_m=rng.uniform(1e-4, 5e-4, n), damage=0 * full, temp_C=15.0 * full, wear=0 * full)
    env, duty = simpy.Environment(), HourlyDuty(n)
    fp = FleetPhysics(env, params, state0, duty, [Threshold("damage", 1e9)], dt_h=1.0, window_rows=W,
                      horizon_h=3 * W, on_crossing=lambda *a: None)
    env.run(until=W + r - 0.5)  # into the second window
    before = {f: fp.boundary[f].copy() for f in STATE_FIELDS}
    before_obs = {f: a.copy() for f, a in fp.obs.items()}
    fp.reset(2, env.now, crack_m=1e-4, wear=0.0)

    # the others keep their paths
    others = [0, 1, 3]
    for f in STATE_FIELDS:
        np.testing.assert_array_equal(fp.boundary[f][:, others], before[f][:, others])
    for f in before_obs:
        np.testing.assert_array_equal(fp.obs[f][:, others], before_obs[f][:, others])
    # the whole fleet predicted afresh from boundary row r, asset 2 reset there, by the pytree interface
    start = {f: before[f][r].copy() for f in STATE_FIELDS}
    start["crack_m"][2], start["wear"][2] = 1e-4, 0.0
    inputs = duty.inputs(W, W, 1.0)
    shifted = AssetInputs(*(np.concatenate([np.asarray(getattr(inputs, f))[r:], np.zeros((r, n))])
                            for f in AssetInputs.__dataclass_fields__))
    valid = np.repeat((np.arange(W) < W - r)[:, None], n, 1)
    _, states, obs = jax.device_get(advance(params, AssetState(*(start[f] for f in STATE_FIELDS)), shifted,
                                            valid, 3600.0))
    for f in STATE_FIELDS:
        np.testing.assert_array_equal(fp.boundary[f][r], start[f])
        np.testing.assert_array_equal(fp.boundary[f][r + 1:], getattr(states, f)[:W - r])
    for f in fp.obs:
        np.testing.assert_array_equal(fp.obs[f][r:], getattr(obs, f)[:W - r])
    assert fp.boundary["crack_m"][-1, 2] < before["crack_m"][-1, 2]  # the reset took
