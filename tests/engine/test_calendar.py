import math

import numpy as np
import pytest

from simengine.engine.calendar import AccessWindows, ShiftCalendar, next_start


@pytest.mark.parametrize("t, expected", [(7.0, 8.0), (8.0, 8.0), (12.5, 12.5), (16.0, 32.0), (23.0, 32.0)])
def test_next_on_shift(t, expected):
    assert ShiftCalendar(((8, 16),)).next_on_shift(t) == expected


@pytest.mark.parametrize("t, work, expected", [
    (8.0, 4.0, 12.0), (14.0, 4.0, 34.0), (20.0, 8.0, 40.0), (8.0, 24.0, 64.0), (10.0, 0.0, 10.0)])
def test_finish_time_pauses_off_shift(t, work, expected):
    assert ShiftCalendar(((8, 16),)).finish_time(t, work) == pytest.approx(expected)


def test_adjacent_shifts_merge_and_round_the_clock_is_a_fast_path():
    cal = ShiftCalendar(((6, 14), (14, 22)))
    assert cal.segments == [(6.0, 22.0)]
    assert cal.finish_time(20.0, 4.0) == pytest.approx(32.0)
    assert ShiftCalendar(((0, 24),)).always


def test_access_windows_and_combined_start():
    ok = np.array([False] * 10 + [True] * 3 + [False] * 20 + [True] * 100)
    acc = AccessWindows(ok)
    assert acc.next_open(0.0) == 10.0 and acc.next_open(11.5) == 11.5 and acc.next_open(13.0) == 33.0
    assert math.isinf(AccessWindows(np.zeros(5, bool)).next_open(1.0))
    # shift 08-16 and access from hour 10: start 10.0; after access reopens at 33 (09:00 day 2): 33.0
    cal = ShiftCalendar(((8, 16),))
    assert next_start(0.0, cal, acc) == 10.0
    assert next_start(14.0, cal, acc) == 33.0
