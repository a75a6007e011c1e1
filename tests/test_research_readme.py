"""The README's "Research experiments" commands run as a test, as a user would type them.

Every `.venv/bin/simengine ...` line of the section runs, in the order written,
at smaller sizes (overrides appended, so they win): a run on a Dask cluster, a
run on a running scheduler, a run interrupted with Ctrl-C and finished by the
same command again, the sweeps, the sensitivity studies and the optimisations.
A command added to the section runs here too, or the test says it does not know
how to shrink it.

Dask commands go to one LocalCluster on 127.0.0.1 that this module starts (the
README's scheduler address is replaced by it), so the workers import JAX once;
so do commands on a process pool (each pool would start and import JAX anew).
That every executor gives the same results is tested in tests/batch, tests/sweep,
tests/sensitivity and tests/optimize; here the commands' keys, values and
pipelines are under test.
"""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pace import deadline, wait_until

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
SECTION = README[README.index("## Research experiments"):README.index("## Benchmarks")]

# Appended to each command, by subcommand: the same work, smaller.
SMALLER = {
    "run": ["replicas=3", "fleet.count=2", "horizon_years=0.5", "plots=false", "progress=false"],
    "sensitivity": ["samples=4", "replicas=1", "fleet.count=2", "horizon_years=0.5", "plots=false", "progress=false"],
    "fatigue": ["replicas=200", "horizon_years=2", "plots=false", "progress=false"],
    "optimize": ["trials=2", "batch=2", "replicas=2", "fleet.count=2", "horizon_years=0.5", "plots=false",
                 "progress=false"],
}


def section_commands() -> list[tuple[list[str], str]]:
    """Each command line of the section's shell blocks: (arguments after `simengine`, its comment)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", SECTION, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.startswith(".venv/bin/simengine "):
                continue  # a transcript's output line
            code, _, comment = line.partition("  #")
            commands.append((shlex.split(code)[1:], comment.strip()))
    return commands


COMMANDS = section_commands()


def test_the_section_shows_every_research_command():
    subcommands = {(args[0], "-m" in args) for args, _ in COMMANDS}
    assert {("run", False), ("run", True), ("sensitivity", False), ("optimize", False)} <= subcommands
    assert any("Ctrl-C" in comment for _, comment in COMMANDS)
    assert any("dask.address=" in a for args, _ in COMMANDS for a in args)


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    yield cluster.scheduler_address
    cluster.close()


def _smaller(args: list[str], scheduler: str, out_dir: Path) -> list[str]:
    if "model=ishigami" in args:  # the closed form is cheap; its check needs the README's sample size
        extra = ["plots=false", "progress=false"]
    else:
        extra = list(SMALLER[args[0]])
    # on the warm cluster: a Dask command, a process pool's, and the sensitivity study's default pool
    args = [a for a in args if not a.startswith("dask.address=")]
    extra += ["executor=dask", f"dask.address={scheduler}"]
    return args + extra + [f"out_dir={out_dir}"]


def _interrupted_run(args: list[str], out_dir: Path) -> str:
    """Start `simengine ARGS` as a user would, Ctrl-C it once replicas are on disk; its stderr."""
    args = args + ["replicas=30", "chunk=1"]
    proc = subprocess.Popen([sys.executable, "-m", "simengine", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: any(out_dir.glob(".*.partial-*/pieces/replicas-*.h5")) or proc.poll() is not None,
                   60, what="a first finished replica on disk")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=deadline(30))
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    return err


@pytest.mark.parametrize("index", range(len(COMMANDS)), ids=[" ".join(a) for a, _ in COMMANDS])
def test_readme_research_command_runs(index, scheduler, tmp_path_factory, capsys):
    from simengine.cli import main

    # The section's commands share one results folder, as in a user's checkout: an interrupted
    # run is finished by the command after it.
    out_dir = tmp_path_factory.getbasetemp() / "research-results"
    out_dir.mkdir(exist_ok=True)
    args, comment = COMMANDS[index]
    command = _smaller(args, scheduler, out_dir)
    if "Ctrl-C" in comment:
        err = _interrupted_run(command, out_dir)
        assert "resume with: simengine run" in err and "(or run the same command again)" in err
        assert len(list(out_dir.glob(".*.partial-*"))) == 1
        return
    finishing = index > 0 and "Ctrl-C" in COMMANDS[index - 1][1]
    if finishing:
        command += ["replicas=30", "chunk=1"]  # the interrupted command's sizes: it finishes that run
    capsys.readouterr()
    assert main(command) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    folder = Path(re.findall(r"^(?:results|report):\s+(\S+)", out, flags=re.M)[-1]).parent
    assert folder.is_dir() and folder.parent == out_dir and not folder.name.startswith(".")
    if finishing:
        assert not list(out_dir.glob(".*.partial-*")), "the same command again finishes the interrupted run"
        import h5py

        with h5py.File(folder / "run.h5") as f:
            assert f["kpi/availability"].shape == (30,)
