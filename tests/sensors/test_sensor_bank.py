"""SensorBank micro-scenarios: layout, alarms, stuck sensors, replacement, masks, determinism."""
import time

import numpy as np
import pytest

from simengine.config.scenario import AlarmConfig, SensorConfig
from simengine.sensors import SensorBank, WindowReport

FIDELITIES = ["raw", "feature"]


def sensor(**kw):
    base = dict(name="s", observes="vibration_rms", noise_sd=0.1, sample_rate_hz=0.01)  # 36 samples per row
    return SensorConfig(**{**base, **kw})


def flat(value, n_assets, rows=168, name="vibration_rms"):
    return {name: np.full((rows, n_assets), value)}


def test_layout_repeats_each_config_per_asset():
    cfgs = (sensor(name="a", per_asset=2, alarm=AlarmConfig(1.0)), sensor(name="b", observes="temperature_C"))
    bank = SensorBank(cfgs, 3, 1.0, "feature", np.random.default_rng(0))
    assert bank.n_sensors == 9
    assert bank.asset.tolist() == [0, 0, 1, 1, 2, 2, 0, 1, 2]
    assert bank.config_index.tolist() == [0] * 6 + [1] * 3
    assert bank.has_alarm.tolist() == [True] * 6 + [False] * 3
    assert bank.n_samples.tolist() == [36] * 9


def test_bad_arguments_are_all_reported():
    with pytest.raises(ValueError) as err:
        SensorBank((sensor(sample_rate_hz=1e-5),), 0, 1.0, "exact", np.random.default_rng(0))
    for text in ("fidelity = 'exact'", "n_assets = 0", "sensors[0].sample_rate_hz = 1e-05"):
        assert text in str(err.value)
    bank = SensorBank((sensor(), sensor(observes="temperature_C")), 2, 1.0, "feature", np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"obs\['temperature_C'\]: missing"):
        bank.window(flat(1.0, 2), 0.0)
    with pytest.raises(ValueError, match=r"obs\['vibration_rms'\].shape = \(168, 3\)"):
        bank.window({**flat(1.0, 3), **flat(1.0, 2, name="temperature_C")}, 0.0)
    obs = {**flat(1.0, 2), **flat(1.0, 2, name="temperature_C")}
    with pytest.raises(ValueError, match="start_row = 169"):
        bank.window(obs, 0.0, start_row=169)
    with pytest.raises(ValueError, match="bool mask of shape"):
        bank.window(obs, 0.0, sensors=np.ones(3, bool))


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_only_sensors_with_an_alarm_fire(fidelity):
    cfgs = (sensor(name="alarmed", alarm=AlarmConfig(1.0)), sensor(name="silent"), sensor(name="low", alarm=AlarmConfig(1.0, "below")))
    bank = SensorBank(cfgs, 4, 1.0, fidelity, np.random.default_rng(1))
    report = bank.window(flat(5.0, 4), 0.0)
    assert report.alarm_sensor.tolist() == [0, 1, 2, 3]
    assert report.alarm_row.tolist() == [0, 0, 0, 0]
    assert np.all(np.abs(report.alarm_value - 5.0) < 1.0)


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_start_row_and_mask_are_honoured(fidelity):
    bank = SensorBank((sensor(alarm=AlarmConfig(1.0)),), 6, 1.0, fidelity, np.random.default_rng(2))
    mask = np.array([True, False, True, False, True, False])
    report = bank.window(flat(5.0, 6), 0.0, start_row=10, sensors=mask)
    assert report.alarm_sensor.tolist() == [0, 2, 4]
    assert report.alarm_row.tolist() == [10, 10, 10]
    assert report.transmitted == 3 * 158  # deadband 0: every row
    assert report.raw_samples == 3 * 158 * 36
    quiet = bank.window(flat(5.0, 6), 0.0, start_row=10, sensors=mask, count_volume=False)
    assert quiet.transmitted == quiet.raw_samples == 0


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_stuck_sensors_never_alarm_after_sticking(fidelity):
    cfg = sensor(alarm=AlarmConfig(1.0), noise_sd=1.0, stuck_rate_per_h=0.02)
    bank = SensorBank((cfg,), 400, 1.0, fidelity, np.random.default_rng(3))
    stuck_row = np.floor(bank.stuck_h)
    report = bank.window(flat(0.66, 400), 0.0)  # about 2 % of rows exceed while unstuck
    assert report.alarm_sensor.size > 50
    assert np.all(report.alarm_row < stuck_row[report.alarm_sensor])
    in_window = np.flatnonzero(stuck_row < 168)
    assert report.stuck_sensor.tolist() == in_window.tolist()
    np.testing.assert_array_equal(report.stuck_time_h, bank.stuck_h[in_window])


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_stuck_sensors_send_heartbeats_only_and_replace_revives_them(fidelity):
    cfg = sensor(alarm=AlarmConfig(1.0), stuck_rate_per_h=1e-6, heartbeat_h=24.0)
    bank = SensorBank((cfg,), 5, 1.0, fidelity, np.random.default_rng(4))
    bank.stuck_h[:] = 1e-4  # every sensor sticks within the first second
    for w in range(3):
        report = bank.window(flat(5.0, 5), 168.0 * w)
        assert report.alarm_sensor.size == 0
        assert report.transmitted == 5 * 7  # rows 0, 24, ..., 144
        assert report.stuck_sensor.tolist() == ([0, 1, 2, 3, 4] if w == 0 else [])
    assert bank.window(flat(5.0, 5), 336.0, start_row=100).transmitted == 5 * 2  # re-predicted: rows 120, 144
    features = bank.features(flat(5.0, 5), 504.0, np.arange(5))
    assert np.all(features == features[0]) and np.all(np.abs(features[0] - 5.0) < 1.0)  # the value held since sticking
    bank.replace(np.array([1, 3]), 504.0)
    assert np.all(bank.stuck_h[[1, 3]] > 504.0) and bank.install_h[[1, 3]].tolist() == [504.0, 504.0]
    report = bank.window(flat(5.0, 5), 504.0)
    assert report.alarm_sensor.tolist() == [1, 3] and report.alarm_row.tolist() == [0, 0]
    assert report.transmitted == 2 * 168 + 3 * 7


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_same_seed_same_history(fidelity):
    cfgs = (sensor(alarm=AlarmConfig(0.35), deadband=0.05, stuck_rate_per_h=0.002, bias_sd=0.05, drift_sd_per_h=1e-4, feature="rms"),
            sensor(name="m", alarm=AlarmConfig(0.5), feature="max", quantisation=0.05, dropout=0.1))
    path = np.linspace(0.0, 0.4, 168)[:, None] + np.zeros((1, 20))

    def history(seed):
        bank = SensorBank(cfgs, 20, 1.0, fidelity, np.random.default_rng(seed))
        reports = [bank.window({"vibration_rms": path}, 168.0 * w) for w in range(2)]
        reports.append(bank.window({"vibration_rms": path}, 168.0, start_row=80, sensors=bank.asset < 10))
        return reports, bank.features({"vibration_rms": path}, 168.0, np.arange(0, 40, 3))

    (r1, f1), (r2, f2), (r3, _) = history(5), history(5), history(6)
    assert r1 == r2 and np.array_equal(f1, f2, equal_nan=True)
    assert r1 != r3
    assert all(isinstance(r, WindowReport) for r in r1) and sum(r.alarm_sensor.size for r in r1) > 0


def test_raw_features_are_the_ones_the_window_saw():
    bank = SensorBank((sensor(alarm=AlarmConfig(0.45)),), 8, 1.0, "raw", np.random.default_rng(6))
    obs = {"vibration_rms": np.linspace(0.0, 0.6, 168)[:, None] + np.zeros((1, 8))}
    report = bank.window(obs, 0.0)
    features = bank.features(obs, 0.0, report.alarm_sensor)
    np.testing.assert_array_equal(features[report.alarm_row, np.arange(report.alarm_sensor.size)], report.alarm_value)


def test_a_fleet_sized_feature_window_runs():
    cfgs = (sensor(name="vib", per_asset=10, feature="rms", noise_sd=0.05, quantisation=0.01, dropout=0.01, deadband=0.02,
                   stuck_rate_per_h=1e-5, sample_rate_hz=1.0, alarm=AlarmConfig(0.75)),
            sensor(name="temp", observes="temperature_C", per_asset=10, noise_sd=0.5, deadband=0.5, sample_rate_hz=1.0, alarm=AlarmConfig(90.0)),
            sensor(name="load", observes="load_factor", per_asset=10, feature="max", noise_sd=0.05, sample_rate_hz=1.0, alarm=AlarmConfig(1.3)),
            sensor(name="freq", observes="natural_frequency_hz", per_asset=90, noise_sd=0.01, sample_rate_hz=1.0))
    bank = SensorBank(cfgs, 100, 1.0, "feature", np.random.default_rng(7))
    assert bank.n_sensors == 12_000 and bank.has_alarm.sum() == 3_000
    rng = np.random.default_rng(8)
    obs = {"vibration_rms": 0.5 + 0.2 * rng.random((168, 100)), "temperature_C": 60 + 5 * rng.random((168, 100)),
           "load_factor": rng.random((168, 100)), "natural_frequency_hz": np.full((168, 100), 1.5)}
    obs["vibration_rms"][:, :5] += np.linspace(0.0, 0.3, 168)[:, None]  # five assets degrade
    bank.window(obs, 0.0)
    start = time.perf_counter()
    report = bank.window(obs, 168.0)
    print(f"feature window, 12,000 sensors x 168 rows: {1e3 * (time.perf_counter() - start):.2f} ms")
    assert 0 < report.alarm_sensor.size < 1000 and set(report.alarm_sensor.tolist()) <= set(np.flatnonzero(bank.has_alarm).tolist())
    assert 168 * 9000 < report.transmitted < 168 * 12_000
    assert report.raw_samples == 12_000 * 168 * 3600


@pytest.mark.parametrize("fidelity", FIDELITIES)
def test_a_window_with_no_rows_left_reports_nothing(fidelity):
    bank = SensorBank((sensor(alarm=AlarmConfig(1.0)),), 2, 1.0, fidelity, np.random.default_rng(9))
    report = bank.window(flat(5.0, 2), 0.0, start_row=168)
    assert report.alarm_sensor.size == 0 and report.transmitted == 0 and report.raw_samples == 0
