"""A fatigue batch solved on any executor: a real 2-worker Dask LocalCluster on 127.0.0.1 and a real local
process pool give, bit for bit, the batch one serial jitted call gives, whatever the chunking."""

import re

import numpy as np
import pytest

from simengine.config import build
from simengine.config.fatigue import FatigueConfig
from simengine.fatigue_cli.executors import run_fatigue

CHUNK = 7


def config(kind: str) -> FatigueConfig:
    # m scattered: replicas differ in every parameter, and some fail within the horizon while others survive
    return build(FatigueConfig, {"horizon_years": 6.0, "material": {"geometry": {"kind": kind},
                                                                   "paris_m": {"mean": 3.0, "sd": 0.1}}})


def assert_bitwise_equal(a, b):
    for name in ("failure_years", "status", "crack_m", "record_years", "multipliers", "load_scale"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=True), name


@pytest.mark.parametrize("kind", ["constant", "finite_width"])
def test_dask_with_two_workers_is_bitwise_the_serial_batch_whatever_the_chunking(client, kind):
    cfg = config(kind)
    serial = run_fatigue(cfg, replicas=41, seed=9)
    status = set(serial.status.tolist())
    assert {0, 1} <= status, status  # both survivors and failures: the comparison covers both paths
    # chunks of 7: six full ones and a last of 6, padded (each worker compiles one shape)
    assert_bitwise_equal(serial, run_fatigue(cfg, replicas=41, seed=9, executor=client, chunk=CHUNK))
    assert len(client.scheduler_info(n_workers=-1)["workers"]) == 2
    assert not np.array_equal(serial.failure_years, run_fatigue(cfg, replicas=41, seed=10).failure_years,
                              equal_nan=True)


def test_a_local_process_pool_and_chunked_serial_are_bitwise_the_serial_batch():
    cfg = config("finite_width")
    serial = run_fatigue(cfg, replicas=23, seed=4)
    assert_bitwise_equal(serial, run_fatigue(cfg, replicas=23, seed=4, executor="processes", workers=2, chunk=5))
    assert_bitwise_equal(serial, run_fatigue(cfg, replicas=23, seed=4, chunk=6))  # in this process, 4 calls


def test_the_progress_bar_counts_replicas_with_rate_and_time_left_on_dask(client, capsys):
    run_fatigue(config("constant"), replicas=41, seed=1, executor=client, chunk=CHUNK, progress=True)
    err = capsys.readouterr().err
    assert "41/41" in err, err
    assert re.search(r"\d(replica/s|s/replica)", err), err  # the rate
    assert re.search(r"<\d\d:\d\d", err), err  # the time left
