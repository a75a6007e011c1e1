"""The scenario examples run as tests."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_policies_shows_monitoring_prevents_failures():
    example = load(ROOT / "scenarios/crane_fleet/compare_policies.py")
    means = example.compare(cranes=8, replicas=2, years=6.0)
    assert means["corrective"]["failures_prevented"] == 0
    assert means["scheduled"]["structural_failures"] < means["corrective"]["structural_failures"]
    assert means["condition_based"]["structural_failures"] < means["corrective"]["structural_failures"]
