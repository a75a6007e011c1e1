"""The calibration's modules import one another as a tree: no circle, not even through an import inside a
function (continuous mode once borrowed the job's collection while the job imported continuous mode)."""

import ast
from pathlib import Path

import simengine

CALIBRATION = Path(simengine.__file__).parent / "calibration"


def calibration_imports(source: str, modules: set[str]) -> set[str]:
    """The calibration modules `source` imports, at any depth, in either spelling."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        found |= {n.split(".")[2] for n in names if n.startswith("simengine.calibration.")
                  and n.split(".")[2] in modules}
    return found


def a_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph (its modules in import order, the first repeated at the end), or None."""
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            if circle := visit(imported):
                return circle
        path.pop()
        done.add(module)
        return None

    return next((c for m in sorted(graph) if (c := visit(m))), None)


def test_the_calibration_modules_import_one_another_as_a_tree():
    modules = {p.stem for p in CALIBRATION.glob("*.py") if p.stem != "__init__"}
    graph = {p.stem: calibration_imports(p.read_text(), modules) - {p.stem} for p in CALIBRATION.glob("*.py")
             if p.stem != "__init__"}
    assert {"collect", "baseline"} <= graph["job"] and {"collect", "baseline"} <= graph["continuous"]
    assert "job" not in graph["continuous"]
    assert a_circle(graph) is None


def test_the_check_sees_a_circle_through_a_function():
    job = "from simengine.calibration.fit import fit\ndef run():\n    from simengine.calibration.continuous import go\n"
    continuous = "def go():\n    from simengine.calibration import job\n    import simengine.calibration.job\n"
    modules = {"job", "continuous", "fit"}
    graph = {"job": calibration_imports(job, modules), "continuous": calibration_imports(continuous, modules)}
    assert graph == {"job": {"fit", "continuous"}, "continuous": {"job"}}
    assert a_circle(graph) == ["continuous", "job", "continuous"]
