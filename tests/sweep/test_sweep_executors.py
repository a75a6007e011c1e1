"""A sweep's (variant, replica) work goes to a real Dask LocalCluster (2 workers on 127.0.0.1) as one pool,
and gives the table a serial sweep gives."""

import numpy as np

import simengine.sweep.run as sweep_run
from simengine.api import load_scenario
from simengine.batch.pools import DaskPool
from simengine.sweep import Variant, run_sweep


def variants():
    over = {"fleet.count": 1, "horizon_years": 0.1, "policy.inspection.interval_h": 200}
    return [Variant(f"policy.kind={kind}", {"policy.kind": kind},
                    load_scenario("crane_fleet", {**over, "policy.kind": kind})) for kind in ("corrective", "scheduled")]


class RecordingDaskPool(DaskPool):
    """The real Dask pool, noting each batch of tasks handed to it."""

    batches: list[list[tuple]] = []

    def imap(self, fn, tasks):
        RecordingDaskPool.batches.append([(args[0].policy.kind, tuple(args[2])) for args in tasks])
        return super().imap(fn, tasks)


def test_every_variant_and_replica_goes_to_dask_as_one_pool_with_the_serial_results(client, monkeypatch):
    serial = run_sweep(variants(), replicas=3, seed=2, progress=False)
    monkeypatch.setattr(sweep_run, "open_pool", lambda executor, *a: RecordingDaskPool(client=executor))
    RecordingDaskPool.batches = []
    on_dask = run_sweep(variants(), replicas=3, seed=2, executor=client, chunk=1, progress=False)
    assert len(RecordingDaskPool.batches) == 1  # one submission of all the work, not one per variant
    (batch,) = RecordingDaskPool.batches
    assert sorted(batch) == [(kind, (i,)) for kind in ("corrective", "scheduled") for i in range(3)]
    for name, table in serial.kpis.items():
        np.testing.assert_array_equal(table, on_dask.kpis[name], err_msg=name)
    assert not np.array_equal(serial.kpis["inspections"][0], serial.kpis["inspections"][1])
    assert on_dask.comparison.differences["inspections"][1].mean == serial.comparison.differences["inspections"][1].mean
