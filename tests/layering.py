"""Checks that a package of simengine stands alone: which simengine packages its modules import, when
imported (in a fresh interpreter) and anywhere in their source (inside functions too)."""

import ast
import json
import subprocess
import sys
from pathlib import Path

# Imports each module in turn and reports, for the first one that loads a forbidden package, which ones.
_PROBE = """
import importlib, json, sys
bad = lambda: sorted(m for m in sys.modules if m.split(".")[0] == "simengine" and len(m.split(".")) > 1
                     and m.split(".")[1] in {forbidden})
found = {{}}
for name in {modules}:
    importlib.import_module(name)
    if bad():
        found[name] = bad()
        break
print(json.dumps(found))
"""


def modules_of(folder: Path) -> list[str]:
    """The package in `folder` (a folder of simengine) and each of its modules."""
    package = f"simengine.{folder.name}"
    return [package] + sorted(f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__")


def is_forbidden(name: str, forbidden: tuple[str, ...]) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[0] == "simengine" and parts[1] in forbidden


def leaks(modules: list[str], forbidden: tuple[str, ...], cwd: Path) -> dict:
    """{first module that loaded a forbidden package: those packages}, from a fresh interpreter in `cwd`."""
    done = subprocess.run([sys.executable, "-c", _PROBE.format(forbidden=set(forbidden), modules=modules)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def imports_in(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in `path` names, at any depth (inside functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def forbidden_imports(folder: Path, forbidden: tuple[str, ...]) -> list[str]:
    """`file:line imports name` for each forbidden import in the source of `folder`'s modules."""
    return [f"{path.name}:{line} imports {name}" for path in sorted(folder.glob("*.py"))
            for line, name in imports_in(path) if is_forbidden(name, forbidden)]
