"""`plc record` shows its progress on stderr when it is a terminal, or when forced; never on stdout."""

import re

import pytest
from live_plc import served

import simengine
from simengine.cli import main
from simengine.virtual_plc import PhysicsSource


@pytest.fixture(scope="module")
def source():
    return PhysicsSource(simengine.load_scenario("crane_fleet", {"fleet.count": 1}), [0], seed=3)


@pytest.mark.parametrize("progress, shown", [("always", True), ("auto", False), ("never", False)])
def test_progress_line_on_stderr_when_asked(source, tmp_path, capfd, progress, shown):
    with served(source) as servers:
        code = main(["plc", "record", "fleet.count=1", f"record.port={servers[0].port}", "record.rate_hz=10",
                     "record.duration_s=1.5", f"record.progress={progress}", f"record.out={tmp_path / 'rec.h5'}"])
    out, err = capfd.readouterr()
    assert code == 0 and out.startswith("recorded 15 blocks")
    shows = "recording:" in err and "/1.5 s" in err and re.search(r"15 rows, \d+ values flagged", err) is not None
    assert shows is shown, err
    assert "recording:" not in out
