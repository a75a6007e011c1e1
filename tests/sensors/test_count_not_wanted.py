"""A re-predicted window's count is not wanted; its random draws are, so that the history does not change."""

import numpy as np
import pytest

from simengine.config.scenario import SensorConfig
from simengine.sensors import SensorBank


def sensor(**kw):
    base = dict(name="s", observes="vibration_rms", noise_sd=0.1, sample_rate_hz=0.01)
    return SensorConfig(**{**base, **kw})


@pytest.mark.parametrize("n_assets", [20, 300])  # binomials per unit; past 256 units the normal limit
def test_a_count_not_wanted_leaves_the_random_stream_where_a_wanted_one_does(n_assets):
    cfgs = (sensor(deadband=0.05, drift_sd_per_h=1e-4, bias_sd=0.05, feature="rms"),
            sensor(name="m", deadband=0.02, feature="max"), sensor(name="d0"))
    rng = np.random.default_rng(0)
    obs = {"vibration_rms": 0.3 + np.cumsum(rng.normal(0.0, 0.01, (168, n_assets)), axis=0)}

    def after(wanted):
        bank = SensorBank(cfgs, n_assets, 1.0, "feature", np.random.default_rng(7))
        bank.window(obs, 0.0)
        report = bank.window(obs, 0.0, start_row=50, sensors=bank.asset == 3, count_volume=wanted)
        # the stream's state right away: streams a few draws apart can fall into step later
        # (a rejection sampler's variable number of draws absorbs the offset)
        return report.transmitted, bank.rng.bit_generator.state, bank.window(obs, 168.0)

    (sent, state_wanted, next_wanted), (unsent, state_unwanted, next_unwanted) = after(True), after(False)
    assert sent > 0 and unsent == 0
    assert state_unwanted == state_wanted and next_unwanted == next_wanted
