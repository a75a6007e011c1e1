"""The README's self-contained Python examples run as written."""

import re
from pathlib import Path

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


def test_the_project_stands_alone():
    """Nothing in the repository points outside it: the design lives in docs/design.md."""
    root = Path(__file__).resolve().parents[1]
    skip = {".git", ".venv", "node_modules", "results", ".pytest_cache", ".hypothesis", "__pycache__"}
    pointing = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if skip.intersection(parts) or any(p.endswith(".egg-info") for p in parts) or path == Path(__file__).resolve():
            continue
        if not path.is_file() or path.stat().st_size > 1_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        if "../shared" in text or "shared/DESIGN" in text:
            pointing.append(str(path.relative_to(root)))
    assert pointing == []
    assert (root / "docs/design.md").is_file()
