"""Ctrl-C during a sweep keeps a resumable folder, and the command it prints (resume=<folder>) finishes it
with the tables of an uninterrupted sweep. A real subprocess, a real SIGINT. (A kill -9 leaves the same
staging folder: pieces are written whole or not at all, as tests/batch/test_resume.py checks for runs.)"""

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr
from pace import deadline, wait_until

from simengine.api import load_scenario
from simengine.sweep import Variant, run_sweep

OVER = {"fleet.count": 1, "horizon_years": 0.2, "policy.inspection.interval_h": 300}
SWEEP = ["policy.kind=corrective,scheduled", "crews.count=1,2", *(f"{k}={v}" for k, v in OVER.items()),
         "replicas=5", "seed=9", "chunk=1", "plots=false", "progress=false"]


def start(out_dir: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "simengine", "run", "-m", *SWEEP, f"out_dir={out_dir}", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pieces(out_dir: Path) -> list[Path]:
    return list(out_dir.glob(".*.partial-*/pieces/variant-*.npz"))


def stop_after(proc: subprocess.Popen, out_dir: Path, count: int, sig: int) -> tuple[str, str]:
    wait_until(lambda: len(pieces(out_dir)) >= count or proc.poll() is not None, 120, what=f"{count} pieces")
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(sig)
    return proc.communicate(timeout=deadline(60))


def test_ctrl_c_keeps_a_folder_that_resume_finishes_with_the_uninterrupted_tables(tmp_path):
    variants = [Variant(f"policy.kind={kind} crews.count={crews}", {"policy.kind": kind, "crews.count": crews},
                        load_scenario("crane_fleet", {**OVER, "policy.kind": kind, "crews.count": crews}))
                for kind in ("corrective", "scheduled") for crews in (1, 2)]
    expected = run_sweep(variants, replicas=5, seed=9, progress=False)
    out_dir = tmp_path / "results"

    proc = start(out_dir)
    _, err = stop_after(proc, out_dir, 3, signal.SIGINT)
    assert proc.returncode == 130, err
    (staging,) = out_dir.iterdir()
    assert staging.name.startswith(".sweep-crane_fleet-") and (staging / "batch.json").exists()
    assert f"resume={staging}" in err and "Traceback" not in err
    kept = len(pieces(out_dir))

    assert 3 <= kept < 20

    proc = start(out_dir, f"resume={staging}")
    out, err = proc.communicate(timeout=deadline(120))
    assert proc.returncode == 0, err
    (folder,) = out_dir.iterdir()
    assert folder.name.startswith("sweep-crane_fleet-")
    kpi = xr.open_dataset(folder / "sweep.h5", group="kpi", engine="h5netcdf")
    cmp = xr.open_dataset(folder / "sweep.h5", group="comparison", engine="h5netcdf")
    for name, table in expected.kpis.items():
        np.testing.assert_array_equal(kpi[name].values, table, err_msg=name)
        np.testing.assert_array_equal(cmp["diff_mean"].sel(kpi=name).values,
                                      [d.mean for d in expected.comparison.differences[name]])
    assert (folder / "report.md").read_text().count("| downtime_h |") == 1
    assert expected.report in out
