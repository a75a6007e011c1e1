"""Report by exception: the exact chain as a trace, heartbeat counts, the stationary-rate table."""
import numpy as np
import pytest
from scipy import special

from simengine.sensors import deadband_chain, deadband_rate, heartbeat_rows
from simengine.sensors.features import MEAN


def test_chain_trace_deadband_and_heartbeat():
    features = np.array([[0.0, 0.5, 1.2, 1.3, 1.0, 1.1, np.nan, 1.0, 3.0]]).T
    row_end = np.arange(1.0, 10.0)
    hb_only = np.zeros_like(features, bool)
    sent, values, times = deadband_chain(features, row_end, np.array([1.0]), np.array([3.0]),
                                         np.array([np.nan]), np.array([-np.inf]), hb_only)
    # row 0: first value; row 2: |1.2 - 0| > 1; row 5: heartbeat (3 h after row 2); row 6 lost; row 8: heartbeat and jump
    assert np.flatnonzero(sent[:, 0]).tolist() == [0, 2, 5, 8]
    assert values[-1, 0] == 3.0 and times[-1, 0] == 9.0


def test_chain_deadband_zero_sends_everything_and_stuck_rows_send_heartbeats_only():
    features = np.ones((10, 2))
    hb_only = np.zeros((10, 2), bool)
    hb_only[4:, 1] = True
    sent, _, _ = deadband_chain(features, np.arange(1.0, 11.0), np.zeros(2), np.full(2, 4.0),
                                np.full(2, np.nan), np.full(2, -np.inf), hb_only)
    assert sent[:, 0].all()
    assert np.flatnonzero(sent[:, 1]).tolist() == [0, 1, 2, 3, 7]


def test_heartbeat_rows_counts_and_phase():
    # last sent at 5 h, heartbeat 24 h, rows of 1 h from t0 = 0: heartbeats end rows 29, 53, ... -> rows 28, 52, ...
    count, last = heartbeat_rows(5.0, 0.0, 1.0, 24.0, 0, 0, 168)
    assert count == len(range(28, 168, 24)) and last == 28 + 24 * 5 + 1
    count, _ = heartbeat_rows(5.0, 0.0, 1.0, 24.0, 0, 60, 168)  # counted from row 60 on, same phase
    assert count == len(range(76, 168, 24))
    count, last = heartbeat_rows(-np.inf, 0.0, 1.0, 24.0, 10, 10, 168)  # never sent: at once
    assert count == len(range(10, 168, 24)) and last == 10 + 24 * 6 + 1


@pytest.mark.parametrize("rho", [0.5, 1.0, 1.5, 2.0])  # where a heartbeat every 200 rows hardly matters
def test_rate_without_heartbeat_is_p_of_two_features_a_deadband_apart(rho):
    # stationary chain, i.i.d. normal features: rate = P(|F - F'| > deadband) = erfc(ρ/2)
    assert deadband_rate(rho, 0.0, MEAN, 0, 200) == pytest.approx(special.erfc(rho / 2), rel=0.01)


def test_rate_limits():
    assert np.all(deadband_rate(np.array([0.0, 3.0, 9.0]), 0.5, MEAN, 0, 1) == pytest.approx(1.0))  # heartbeat every row
    assert deadband_rate(30.0, 0.0, MEAN, 0, 24) == pytest.approx(1 / 24)  # heartbeats only
    assert deadband_rate(30.0, 7.0, MEAN, 0, 24) == pytest.approx(1 / 5)  # noiseless trend: every ⌊30/7⌋ + 1 rows
