"""The README's self-contained Python examples run as written."""

import os
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_fatigue_toolkit_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    (toolkit,) = [b for b in blocks if "count_cycles" in b]
    namespace: dict = {}
    exec(compile(toolkit, "README.md", "exec"), namespace)
    assert 0 < namespace["D"] < 1


def test_quick_start_names_the_two_commands():
    start = README.index("## Quick start")
    quick = README[start:README.index("##", start + 5)]
    assert "make run" in quick and "make test" in quick


def _readme_command(prefix: str) -> list[str]:
    """The arguments of the README's first shell command starting with `prefix` (continuations joined)."""
    import shlex

    text = README[README.index(prefix):]
    line = text[:text.index("\n```")].split("\n#")[0]
    return shlex.split(line.replace("\\\n", " "))[1:]


def test_readme_calibration_commands_run_as_written(tmp_path, capsys):
    from simengine.cli import main

    one_hour = _readme_command(".venv/bin/simengine calibrate\n")
    assert one_hour == ["calibrate"]
    continuous = _readme_command(".venv/bin/simengine calibrate continuous.enabled=true")
    assert main(continuous + [f"out_dir={tmp_path}", "plots=false"]) == 0
    out = capsys.readouterr().out
    assert "crack now" in out and "remaining life, days" in out
    params = next(tmp_path.glob("calibrate-*/params.yaml"))
    assert main(["fatigue", f"calibration={params}", "replicas=100", "horizon_years=1", "plots=false",
                 f"out_dir={tmp_path}"]) == 0


# Paths to the workplace folder beside the checkout, spelt in parts so this file does not name them itself.
OUTSIDE = ("../" + "shared", "shared/" + "DESIGN")


def test_the_project_stands_alone():
    """Nothing in the repository points outside it: the design lives in docs/design.md."""
    root = Path(__file__).resolve().parents[1]
    skip = {".git", ".venv", "node_modules", "results", ".pytest_cache", ".hypothesis", "__pycache__"}
    pointing = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if skip.intersection(parts) or any(p.endswith(".egg-info") for p in parts):
            continue
        if not path.is_file() or path.stat().st_size > 1_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if any(needle in text for needle in OUTSIDE):
            pointing.append(str(path.relative_to(root)))
    assert pointing == []
    assert (root / "docs/design.md").is_file()


# The README's sample outputs are the commands' real outputs: each block after a marker
#   <!-- output of: simengine ARGS -->
# is compared with what `simengine ARGS` prints (results folders and their time stamps
# masked). SIMENGINE_UPDATE_README=1 writes the current outputs into the README instead.
OUTPUT_MARKER = re.compile(r"<!-- output of: simengine (?P<args>[^\n]*?) -->\n```\n(?P<text>.*?)```", re.S)
UPDATE = os.environ.get("SIMENGINE_UPDATE_README") == "1"


def _masked(text: str, out_dir: Path) -> str:
    text = text.replace(str(out_dir), "results")
    text = re.sub(r"\d{8}T\d{6}\d*Z", "<time>", text)
    text = re.sub(r"\b\d+(\.\d+)? ms\b", "<wall> ms", text)  # a fit's wall time
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()) + "\n"


def _output_of(args: list[str], out_dir: Path, capsys) -> str:
    from simengine.cli import main

    extra = [f"out_dir={out_dir}"] if args[0] in ("run", "fatigue", "calibrate", "sensitivity", "optimize") else []
    extra += ["progress=false"] if args[0] == "run" else []
    capsys.readouterr()
    main(args + extra)
    captured = capsys.readouterr()
    return _masked(captured.out + captured.err, out_dir)


@pytest.mark.parametrize("index", range(len(OUTPUT_MARKER.findall(README))))
def test_readme_sample_outputs_are_what_the_commands_print(index, tmp_path, capsys, monkeypatch):
    import shlex

    match = list(OUTPUT_MARKER.finditer(README))[index]
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "results"
    actual = _output_of(shlex.split(match["args"]), out_dir, capsys)
    if UPDATE:
        path = Path(__file__).resolve().parents[1] / "README.md"
        text = path.read_text()
        start = text.index(match.group(0))
        block = match.group(0)
        text_at = match.start("text") - match.start()
        replaced = block[:text_at] + actual + block[text_at + len(match["text"]):]
        path.write_text(text[:start] + replaced + text[start + len(block):])
        return
    assert match["text"] == actual


def test_python_api_example_runs_as_a_saved_script(tmp_path):
    """Saved as a file and run, as a user would; smaller sizes, the same structure (process pool included)."""
    import subprocess
    import sys

    (example,) = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "simengine.run(" in b and "wind_farm" in b]
    smaller = example.replace('"fleet.count": 20', '"fleet.count": 2').replace("replicas=50", "replicas=2")
    smaller = smaller.replace('{"crews.count"', '{"horizon_years": 0.25, "crews.count"')
    assert smaller.count("replicas=2") == 1 and "horizon_years" in smaller
    script = tmp_path / "what_if.py"
    script.write_text(smaller)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "'mean'" in out.stdout and len(list(tmp_path.glob("results/wind_farm-*/run.h5"))) == 1


def test_readme_own_asset_kind_runs_as_written(tmp_path):
    """The pump of "Your own asset kind", saved as my_kinds.py, named by dotted path in the README's command."""
    import shlex
    import subprocess
    import sys

    section = README[README.index("## Your own asset kind"):]
    module = next(b for b in re.findall(r"```python\n(.*?)```", section, flags=re.S) if "class Pump(" in b)
    (tmp_path / "my_kinds.py").write_text(module)
    command = re.search(r"```sh\n(PYTHONPATH=\. .*?)\n```", section, flags=re.S).group(1).replace("\\\n", " ")
    env_assignment, program, *args = shlex.split(command)
    assert env_assignment == "PYTHONPATH=." and program == ".venv/bin/simengine"
    done = subprocess.run([sys.executable, "-m", "simengine", *args, "out_dir=results", "plots=false"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "pump_station" in done.stdout and "availability" in done.stdout, done.stdout
    assert len(list((tmp_path / "results").glob("pump_station-*/run.h5"))) == 1


def _section(title: str) -> str:
    start = README.index(title)
    return README[start:README.index("\n## ", start + 1)]


def _shell_commands(text: str, prefix: str) -> list[list[str]]:
    """The arguments of each shell line in `text` that starts with `prefix`, its comment dropped."""
    import shlex

    return [shlex.split(line, comments=True)[1:] for line in text.splitlines() if line.startswith(prefix)]


def test_readme_plant_commands_run_as_written(tmp_path, capsys):
    """The Plants section's runs (fewer replicas, a shorter horizon) and its DTDL exports, from a scenario and
    from the run's file."""
    from simengine.cli import main

    section = _section("## Plants: a port, a wind farm with its grid")
    runs = _shell_commands(section, ".venv/bin/simengine run ")
    assert [a[1] for a in runs] == ["scenario=port", "scenario=wind_farm_grid", "scenario=port"]
    for args in runs:
        args = [a for a in args if not a.startswith(("replicas=", "executor="))]
        assert main(args + ["replicas=2", "horizon_years=0.1", "plots=false", "progress=false",
                            f"out_dir={tmp_path}"]) == 0
    assert "by group" in capsys.readouterr().out
    (port_run, *_) = sorted(tmp_path.glob("port-*/run.h5"))
    exports = _shell_commands(section, ".venv/bin/simengine dtdl ")
    assert exports == [["dtdl", "scenario=port"], ["dtdl", "from=results/port-<time>/run.h5"]]
    assert main(exports[0] + [f"out_dir={tmp_path}/a"]) == 0
    assert main([exports[1][0], f"from={port_run}", f"out_dir={tmp_path}/b"]) == 0
    (a,), (b,) = (list((tmp_path / d).glob("dtdl-port-*/import.ndjson")) for d in "ab")
    assert a.read_text() == b.read_text()


def test_readme_scenario_overrides_are_valid_configurations():
    """Every `simengine run` line of "Changing the scenario" composes and validates as written."""
    from simengine.cli import compose_config

    runs = _shell_commands(_section("## Changing the scenario"), ".venv/bin/simengine run ")
    assert len(runs) >= 8 and any("fleet.duty={kind: none}" in a for a in runs)
    for args in runs:
        compose_config([a for a in args[1:] if a != "-m"])
