"""Dask as an executor: a real LocalCluster on 127.0.0.1, real worker processes killed with SIGKILL.
Same seed, same KPI table on every executor, worker count and chunking."""

import os
import re
import signal
import socket
import threading

import numpy as np
from pace import deadline, wait_until

from simengine.api import load_scenario, run
from simengine.cli import main


def tiny(**over):
    return load_scenario("crane_fleet", {"fleet.count": 1, "horizon_years": 0.1, **over})


def same_table(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_same_seed_same_kpi_table_on_serial_and_dask_with_1_and_2_workers(client):
    # a local process pool against serial, chunked, replica by replica with its events: tests/test_api.py
    sc = tiny()
    serial = run(sc, replicas=8, seed=5)
    assert same_table(serial.kpis, run(sc, replicas=8, seed=5, executor=client, chunk=1).kpis)  # 2 workers
    assert same_table(serial.kpis, run(sc, replicas=8, seed=5, executor="dask", workers=1).kpis)  # its own LocalCluster
    on_dask = run(sc, replicas=8, seed=5, executor=client, chunk=3)
    for a, b in zip(serial.replicas, on_dask.replicas):
        np.testing.assert_array_equal(a.events, b.events)
        for name in a.series:
            np.testing.assert_array_equal(a.series[name], b.series[name])
    assert not same_table(serial.kpis, run(sc, replicas=8, seed=6).kpis)


def test_a_progress_bar_on_dask_counts_replicas_with_rate_and_time_left(client, capsys):
    result = run(tiny(), replicas=6, seed=5, executor=client, chunk=1, progress=True, keep=2)
    err = capsys.readouterr().err
    assert "6/6" in err, err
    assert re.search(r"\d(replica/s|s/replica)", err), err  # the rate
    assert re.search(r"<\d\d:\d\d", err), err  # the time left
    # the first `keep` replicas come back whole, the rest as KPIs only
    assert [r.replica for r in result.replicas] == [0, 1] and result.kpis["availability"].shape == (6,)
    assert set(result.replicas[1].series) == set(run(tiny(), replicas=1, seed=5).replicas[0].series) != set()


def test_a_worker_killed_mid_batch_costs_time_not_results(client, tmp_path):
    sc = tiny(horizon_years=0.5)
    expected = run(sc, replicas=10, seed=2).kpis
    pids = list(client.run(os.getpid).values())
    killed = []

    def kill_one_worker_once_a_chunk_is_in():
        wait_until(lambda: list(tmp_path.glob(".*.partial-*/pieces/replicas-*.h5")), 120, interval_s=0.05,
                   what="the first chunk on disk")
        os.kill(pids[0], signal.SIGKILL)
        killed.append(pids[0])

    killer = threading.Thread(target=kill_one_worker_once_a_chunk_is_in, daemon=True)
    killer.start()
    result = run(sc, replicas=10, seed=2, executor=client, chunk=1, out_dir=tmp_path, plots=False)
    killer.join(deadline(30))
    assert killed, "no worker was killed"
    assert same_table(expected, result.kpis)
    # the nanny starts a new worker in its place
    wait_until(lambda: len(client.scheduler_info(n_workers=-1)["workers"]) == 2, 60, what="the worker restarted")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_scheduler_is_one_message_and_nothing_is_written(tmp_path, capsys):
    address = f"tcp://127.0.0.1:{free_port()}"
    code = main(["run", "fleet.count=1", "horizon_years=0.1", "replicas=2", "executor=dask",
                 f"dask.address={address}", f"dask.timeout_s={deadline(2):.1f}", f"out_dir={tmp_path}/results"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"dask.address = '{address}': must be a running Dask scheduler" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
