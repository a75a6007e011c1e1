"""Benchmark: the README's what-if run, `simengine run scenario=wind_farm crews.count=4 replicas=200 seed=7`,
end to end on a 2-worker process pool, through the command line (composition, pool start, replicas,
run.h5 and plots), as a user waits for it. No reference runs beside it: its goal is a wall time (≤ 3 min
on 2 cores), so the load average before and after is printed with it.
"""

from __future__ import annotations

import contextlib
import io
import os
import statistics
import tempfile
from pathlib import Path

from simengine.bench.harness import BenchResult, timed

COMMAND = ["run", "scenario=wind_farm", "crews.count=4", "replicas=200", "seed=7"]


def command(quick: bool, out_dir: Path) -> list[str]:
    args = [a if not (quick and a.startswith("replicas=")) else "replicas=4" for a in COMMAND]
    return args + ["executor=processes", "workers=2", "progress=false", f"out_dir={out_dir}"]


def run(repeats: int = 3, quick: bool = False) -> BenchResult:
    from simengine.cli import main

    walls, load = [], [os.getloadavg()[0]]
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            wall, code = timed(main, command(quick, Path(tmp)))
        if code != 0:
            raise RuntimeError(f"simengine {' '.join(command(quick, Path('results')))} exited {code}")
        walls.append(wall)
    load.append(os.getloadavg()[0])
    shown = " ".join(command(quick, Path("results"))[:-1])
    return BenchResult(
        name="readme_wind_farm",
        goal="<= 180 s on 2 cores (2 worker processes)",
        figures={"wall_median_s": statistics.median(walls), "load_avg_1min_before_after": f"{load[0]:.1f} / {load[1]:.1f}"},
        timings_s={"wall": walls},
        notes=f"simengine {shown}; median of {repeats}",
    )
