"""The readme_wind_farm benchmark times the README's own what-if command."""

from pathlib import Path

from simengine.bench.readme_run import COMMAND, command

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_benchmark_runs_the_readme_command():
    assert ".venv/bin/simengine " + " ".join(COMMAND) in README
    full = command(False, Path("out"))
    assert full[:len(COMMAND)] == COMMAND and "executor=processes" in full and "workers=2" in full
    assert "replicas=4" in command(True, Path("out"))
