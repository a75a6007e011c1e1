"""`simengine run -m`: the sweep folder (sweep.h5 in xarray, report.md), the comparison checked against
scipy and against plain runs of each variant, and the bad-input messages (return code 2, nothing written)."""

import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

from simengine.api import load_scenario, run
from simengine.cli import main

TINY = ["fleet.count=3", "horizon_years=0.5", "policy.inspection.interval_h=500", "replicas=4", "seed=3",
        "plots=false", "progress=false"]


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    code = main(["run", "-m", "policy.kind=corrective,scheduled", "crews.count=range(1,3)",
                 "sweep.baseline=2", *TINY, f"out_dir={out}"])
    assert code == 0
    (folder,) = out.iterdir()
    return folder


def test_sweep_h5_opens_in_xarray_with_a_variant_dimension_and_the_overrides_as_coordinates(sweep_folder):
    kpi = xr.open_dataset(sweep_folder / "sweep.h5", group="kpi", engine="h5netcdf")
    assert kpi["total_cost_eur"].dims == ("variant", "replica")
    assert kpi.sizes == {"variant": 4, "replica": 4}
    assert list(kpi["variant"].values) == ["policy.kind=corrective crews.count=1", "policy.kind=corrective crews.count=2",
                                           "policy.kind=scheduled crews.count=1", "policy.kind=scheduled crews.count=2"]
    assert list(kpi["crews.count"].values) == [1, 2, 1, 2]
    assert list(kpi["policy.kind"].values) == ["corrective", "corrective", "scheduled", "scheduled"]
    assert kpi["downtime_h"].attrs["units"] == "h"
    # a variant selected by its override, as a user would
    assert kpi["availability"].where(kpi["crews.count"] == 2, drop=True).sizes["variant"] == 2


def test_each_variant_is_a_plain_run_of_it_with_the_same_seed(sweep_folder):
    """Common random numbers: replica i of every variant is replica i of `simengine run` with that seed."""
    kpi = xr.open_dataset(sweep_folder / "sweep.h5", group="kpi", engine="h5netcdf")
    plain = run(load_scenario("crane_fleet", {"fleet.count": 3, "horizon_years": 0.5, "crews.count": 2,
                                              "policy.kind": "scheduled", "policy.inspection.interval_h": 500}),
                replicas=4, seed=3)
    for name, values in plain.kpis.items():
        np.testing.assert_array_equal(kpi[name].values[3], values)
    assert not np.array_equal(kpi["inspections"].values[3], kpi["inspections"].values[1])  # the policy changed it


def test_paired_differences_and_variance_reduction_agree_with_scipy(sweep_folder):
    kpi = xr.open_dataset(sweep_folder / "sweep.h5", group="kpi", engine="h5netcdf")
    cmp = xr.open_dataset(sweep_folder / "sweep.h5", group="comparison", engine="h5netcdf")
    assert cmp.attrs["baseline"] == 2
    checked = 0
    for name in ("downtime_h", "total_cost_eur", "maintenance_cost_eur"):
        base = kpi[name].values[2]
        for v in (0, 1, 3):
            x = kpi[name].values[v]
            row = cmp.sel(kpi=name).isel(variant=v)
            d = x - base
            assert float(row["diff_mean"]) == pytest.approx(d.mean(), rel=1e-12, abs=1e-9)
            if np.var(d) == 0:
                continue
            ci = stats.ttest_rel(x, base).confidence_interval(0.95)
            assert float(row["diff_ci95_low"]) == pytest.approx(ci.low, rel=1e-9)
            assert float(row["diff_ci95_high"]) == pytest.approx(ci.high, rel=1e-9)
            expected = (np.var(x, ddof=1) + np.var(base, ddof=1)) / np.var(d, ddof=1)
            assert float(row["variance_reduction"]) == pytest.approx(expected, rel=1e-9)
            checked += 1
    assert checked >= 3
    means = cmp["mean"].sel(kpi="downtime_h").values
    np.testing.assert_allclose(means, kpi["downtime_h"].mean("replica").values, rtol=1e-12)


def test_the_report_is_written_beside_the_hdf5_and_printed(sweep_folder, capsys):
    text = (sweep_folder / "report.md").read_text()
    assert "2: policy.kind=scheduled crews.count=1  (baseline)" in text
    assert "| kpi | variant | mean | 95% CI | vs baseline | 95% CI (paired) | CRN variance ÷ |" in text
    assert not list(sweep_folder.glob(".*")) and not (sweep_folder / "pieces").exists()


BAD = [
    (["crews.cuont=2,3"], "crews.cuont = '2,3': unknown field", "did you mean 'count'"),
    (["crews.count=range(5,2)"], "crews.count = 'range(5,2)': gives no values", "start < stop"),
    (["seed=1,2"], "seed = '1,2': is a run setting", "one seed"),
    (["crews.count=1,1"], "crews.count = '1,1': lists 1 more than once", "each variant must differ"),
    (["crews.count=1,2", "sweep.baseline=7"], "sweep.baseline = '7': names no variant", "0: crews.count=1"),
]


@pytest.mark.parametrize("overrides,message,rule", BAD, ids=["unknown-key", "empty-range", "run-key", "repeat",
                                                             "baseline"])
def test_bad_sweep_input_is_one_message_with_field_value_and_rule(tmp_path, capsys, overrides, message, rule):
    out = tmp_path / "results"
    assert main(["run", "-m", *overrides, *TINY, f"out_dir={out}"]) == 2
    err = capsys.readouterr().err
    assert "simengine: 1 problem in the configuration:" in err
    assert message in err and rule in err
    assert "Traceback" not in err
    assert not out.exists()


def test_a_sweep_without_multirun_says_to_add_it(tmp_path, capsys):
    assert main(["run", "crews.count=1,2", *TINY, f"out_dir={tmp_path / 'r'}"]) == 2
    assert "add -m" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_variance_reduction_is_infinite_only_where_every_pair_agrees():
    from simengine.sweep import paired_difference

    same = paired_difference(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 4.0]))
    assert math.isinf(same.variance_reduction) and same.ci95_low == same.ci95_high == 0.0
    shifted = paired_difference(np.array([2.0, 3.0, 5.0, 9.0]), np.array([1.0, 2.0, 4.0, 7.0]))
    assert shifted.mean == pytest.approx(1.25)
    assert shifted.variance_reduction == pytest.approx((np.var([2, 3, 5, 9], ddof=1) + np.var([1, 2, 4, 7], ddof=1))
                                                       / np.var([1, 1, 1, 2], ddof=1))
