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
