"""Benchmark: how long a user waits for the message about a configuration mistake, and what loaded first.

``simengine run crews.count=-1`` (a typo) and ``simengine --help``, each timed as a fresh process from
start to exit (the message is the last thing it does), median of `repeats`, alternately with a bare
``python -c pass`` (the floor no command gets under). For every command's mistake, the modules loaded
when its message had been printed, asked of a fresh interpreter: a heavy one there (JAX, the engine,
HDF5, plotting, ...) is time the user waits for nothing. Also the configuration's composition itself:
Hydra's against the direct path the command line takes for the shape of conf/.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from simengine.bench.harness import BenchResult

# Modules that must not be loaded before a configuration mistake is reported (tests/test_cold_start.py).
# (The engine's KPI catalogue, simengine.engine.kpis, is light; its simulation pulls in SimPy and JAX.)
HEAVY = ("jax", "jaxlib", "simengine.engine.simulation", "simengine.physics", "h5py", "matplotlib", "numba", "scipy",
         "dask", "distributed", "optuna", "SALib", "simpy", "pymodbus", "asyncua")
# Lighter ones the benchmark reports too: what the remaining time goes to.
REPORTED = HEAVY + ("numpy", "hydra", "omegaconf", "yaml")

# One mistake per command, as a user makes them.
MISTAKES = {
    "run": ["run", "crews.count=-1"],
    "run -m": ["run", "-m", "crews.count=-1,2"],
    "fatigue": ["fatigue", "replicas=-1"],
    "calibrate": ["calibrate", "asset=-1"],
    "sensitivity": ["sensitivity", "samples=-3"],
    "optimize": ["optimize", "trials=-1"],
    "plc record": ["plc", "record", "record.duration_s=-1"],
}

PROBE = """
import contextlib, io, json, sys
{before}
from simengine.cli import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(json.loads(sys.argv[1]))
    except SystemExit as end:  # --help
        code = end.code
print(json.dumps({{"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(),
                  "loaded": sorted(m for m in {reported!r} if m in sys.modules), "modules": len(sys.modules)}}))
"""


def loaded_after(argv: list[str], before: str = "") -> dict:
    """Run ``simengine <argv>`` in a fresh interpreter; its exit code, output, and which of REPORTED (and how
    many modules in all) were loaded once it had printed its message. `heavy`: those of HEAVY. `before`:
    Python run first in that interpreter."""
    script = PROBE.format(before=before, reported=REPORTED)
    done = subprocess.run([sys.executable, "-c", script, json.dumps(argv)], capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"the probe of simengine {' '.join(argv)} failed:\n{done.stderr}")
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    seen["heavy"] = [m for m in seen["loaded"] if m in HEAVY]
    return seen


def command() -> list[str]:
    """The `simengine` console script of this interpreter's environment (else ``python -m simengine``)."""
    script = Path(sys.executable).parent / "simengine"
    return [str(script)] if script.exists() else [sys.executable, "-m", "simengine"]


def wall_s(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, capture_output=True, timeout=300)
    return time.perf_counter() - t0


def composition_ms(repeats: int) -> dict[str, float]:
    """Median time of composing conf/config.yaml with a scenario choice: Hydra's way and the direct one."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from simengine.cli import compose_tree, hydra_compose

    groups = OverridesParser.create().parse_overrides(["scenario=wind_farm"])
    out = {}
    for label, fn in (("hydra", hydra_compose), ("direct", compose_tree)):
        fn("config", groups)  # first call: imports
        times = []
        for _ in range(max(repeats, 3)):
            t0 = time.perf_counter()
            fn("config", groups)
            times.append(time.perf_counter() - t0)
        out[label] = 1000 * statistics.median(times)
    return out


def run(repeats: int = 5, quick: bool = False) -> BenchResult:
    repeats = max(repeats, 3)
    cli = command()
    runs = {"typo: simengine run crews.count=-1": cli + MISTAKES["run"],
            "simengine --help": cli + ["--help"],
            "python -c pass": [sys.executable, "-c", "pass"]}
    timings: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeats):  # interleaved, so that the machine's load changes hit all alike
        for label, argv in runs.items():
            timings[label].append(wall_s(argv))
    figures: dict[str, float | str] = {
        "typo_to_message_median_s": statistics.median(timings["typo: simengine run crews.count=-1"]),
        "help_median_s": statistics.median(timings["simengine --help"]),
        "python_startup_median_s": statistics.median(timings["python -c pass"]),
    }
    for name in (["run"] if quick else list(MISTAKES)):
        seen = loaded_after(MISTAKES[name])
        figures[f"jax imported before the message: {name}"] = "yes" if "jax" in seen["loaded"] else "no"
        figures[f"heavy modules before the message: {name}"] = ", ".join(seen["heavy"]) or "none"
        if name == "run":
            figures["modules loaded before the message: run"] = float(seen["modules"])
            figures["of these: run"] = ", ".join(seen["loaded"])
    composed = composition_ms(repeats)
    figures["compose_hydra_ms"] = composed["hydra"]
    figures["compose_direct_ms"] = composed["direct"]
    return BenchResult(
        name="cold_start", goal="a configuration mistake reported in <= 1 s, with nothing heavy (JAX) imported first",
        figures=figures, timings_s=timings,
        notes=f"fresh processes of {' '.join(Path(c).name for c in cli)}, start to exit, median of {repeats}, "
              "interleaved; modules asked of a fresh interpreter once the message is printed; composition: "
              "conf/config.yaml with scenario=wind_farm, in this process, after a first call")


if __name__ == "__main__":
    from simengine.bench.harness import table

    print(table([run(repeats=3, quick="--quick" in sys.argv)]))
