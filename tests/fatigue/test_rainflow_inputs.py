"""Rainflow entry points refuse what is not a 1-D real numeric array with a message naming the argument,
what it got and what is expected (never a bare NumPy or numba traceback)."""

import numpy as np
import pytest

from simengine.fatigue import Cycles, RainflowCounter, count_cycles, turning_points
from simengine.fatigue.spectrum import spectrum_from_history

BAD = [
    ("a string", "1 2 3", TypeError, "is str '1 2 3'"),
    ("strings in a list", ["1", "2", "3"], TypeError, "holds strings"),
    ("None", None, TypeError, "is NoneType None"),
    ("a scalar", 5.0, TypeError, "is a scalar"),
    ("a NumPy scalar", np.float64(5.0), TypeError, "is a scalar"),
    ("complex values", np.array([1 + 1j, 2.0, 0.5]), TypeError, "holds complex values"),
    ("booleans", [True, False, True], TypeError, "holds booleans"),
    ("objects", [1.0, object(), 2.0], TypeError, "holds Python objects"),
    ("a dict", {"a": 1.0}, TypeError, "is dict"),
    ("a ragged list", [[1.0, 2.0], [3.0]], ValueError, "not an array"),
    ("a 2-D array", np.ones((3, 2)), ValueError, r"must be 1-D, got shape \(3, 2\)"),
    ("NaN", [1.0, np.nan, 2.0], ValueError, "sample 1 is nan"),
    ("inf", [1.0, 2.0, np.inf], ValueError, "sample 2 is inf"),
]


@pytest.mark.parametrize("what, value, error, message", BAD, ids=[b[0] for b in BAD])
def test_count_cycles_names_the_argument_and_the_expectation(what, value, error, message):
    with pytest.raises(error, match=message) as info:
        count_cycles(value)
    assert str(info.value).startswith("signal")
    if "sample" not in message:
        assert "expected a 1-D array of finite real numbers" in str(info.value)


@pytest.mark.parametrize("what, value, error, message", BAD, ids=[b[0] for b in BAD])
def test_streaming_counter_and_turning_points_refuse_the_same(what, value, error, message):
    with pytest.raises(error, match=message) as info:
        RainflowCounter().process(value)
    assert str(info.value).startswith("chunk")
    with pytest.raises(error, match=message):
        turning_points(value)


@pytest.mark.parametrize("what, value, error, message", BAD[:3] + BAD[5:9], ids=[b[0] for b in BAD[:3] + BAD[5:9]])
def test_spectrum_and_cycles_refuse_non_numeric_input(what, value, error, message):
    with pytest.raises(error, match=message) as info:
        spectrum_from_history(value, 1.0)
    assert "signal_MPa" in str(info.value)
    with pytest.raises(error, match=message) as info:
        Cycles(ranges=value, means=[0.0], counts=[1.0])
    assert "Cycles.ranges" in str(info.value)


@pytest.mark.parametrize("hysteresis", ["0.1", None, [0.1], True])
def test_hysteresis_must_be_a_real_number(hysteresis):
    with pytest.raises(TypeError, match="hysteresis is .*expected a finite real number >= 0"):
        count_cycles([0.0, 1.0, 0.0], hysteresis=hysteresis)


def test_integer_and_float32_signals_are_still_counted():
    assert count_cycles(np.array([0, 3, 1, 4, 0], dtype=np.int16)).total == count_cycles([0.0, 3.0, 1.0, 4.0, 0.0]).total
    assert len(count_cycles(np.array([0, 3, 1, 4, 0], dtype=np.float32))) > 0
