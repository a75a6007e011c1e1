"""The engine's columnar event log and block-drawn durations, against plain row-by-row constructions."""

import numpy as np

from simengine.config.scenario import Distribution
from simengine.engine.fleet import EventLog
from simengine.engine.sampling import draw, draw_stream


def test_the_columns_give_the_rows_and_the_array_a_row_by_row_conversion_gives():
    log = EventLog()
    rows = [(0.5, 3, "breakdown", 0.0), (2.25, 0, "alarm", 1.7), (2.25, 3, "breakdown_fixed", 0.0),
            (9.0, np.int64(1), "repair_end", 2.0)]
    for row in rows:
        log.record(*row)
    assert log.rows == [tuple(r) for r in rows] and len(log) == 4
    expected = np.array(rows, dtype=EventLog.DTYPE)
    assert log.to_array().tobytes() == expected.tobytes()
    assert EventLog().to_array().shape == (0,) and EventLog().to_array().dtype == expected.dtype


def test_a_draw_stream_serves_the_generators_blocks_in_order():
    dist = Distribution(kind="weibull", mean=50.0, shape=1.7)
    served = draw_stream(dist, np.random.default_rng(4), block=100)
    values = [served() for _ in range(250)]  # crosses two block boundaries
    rng = np.random.default_rng(4)
    blocks = np.concatenate([draw(dist, rng, 100) for _ in range(3)])
    assert values == blocks[:250].tolist()
