"""Resuming a batch that was killed: which unfinished run folder, and whether it is the same batch.

A resumable run's staging folder (``out_dir/.<name>.partial-<pid>``, see
`simengine.results.publish`) holds ``batch.json``: the configuration that
decides its results (the scenario, the seed and the replica count). A run
resumes one only if that configuration is the same, since its pieces must be
the replicas this run would compute; executor, workers and chunking may differ,
they change nothing in the results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from simengine.config import ConfigError, Problem
from simengine.results.publish import RESUMABLE, abandoned, staging_owner


def identity(scenario: dict, seed: int, replicas: int) -> dict:
    """What a batch's results depend on, as JSON reads it back (tuples become lists)."""
    return json.loads(json.dumps({"scenario": scenario, "seed": seed, "replicas": replicas}))


def write_manifest(staging: Path, ident: dict) -> None:
    path = staging / RESUMABLE
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(ident, indent=1, sort_keys=True))
    os.replace(tmp, path)


def read_manifest(staging: Path) -> dict:
    return json.loads((staging / RESUMABLE).read_text())


def differences(old: dict, new: dict, prefix: str = "") -> list[tuple[str, object, object]]:
    """Dotted keys whose values differ: (key, this run's value, the interrupted run's value)."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key, "<absent>"), new.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append((f"{prefix}{key}", b, a))
    return out


def check_resume(folder: str | Path, ident: dict) -> Path:
    """The staging folder `folder` if this run can resume it, else one ConfigError naming why."""
    path = Path(folder)
    value = str(folder)
    if not path.is_dir():
        raise ConfigError([Problem("resume", value, "no such folder; give the .<name>.partial-<pid> folder "
                                                    "an interrupted run left in its out_dir")])
    if staging_owner(path) is None:
        rule = ("is a finished run; nothing to resume" if (path / "run.h5").exists()
                else "is not an unfinished simengine run (a .<name>.partial-<pid> folder holding batch.json)")
        raise ConfigError([Problem("resume", value, rule)])
    if not (path / RESUMABLE).exists():
        raise ConfigError([Problem("resume", value, "is not a resumable simengine run: it holds no batch.json")])
    if path not in abandoned(path.parent):
        raise ConfigError([Problem("resume", value, f"is being written by process {staging_owner(path)}, "
                                                    "which is still running")])
    try:
        old = read_manifest(path)
    except (OSError, ValueError) as err:
        raise ConfigError([Problem("resume", value, f"its batch.json cannot be read: {err}")]) from None
    if diff := differences(old, ident):
        listed = "; ".join(f"{key} = {new!r} here, {was!r} there" for key, new, was in diff)
        raise ConfigError([Problem("resume", value, f"was started with another configuration ({listed}); "
                                                    "a resumed run needs the same scenario, seed and replicas")])
    return path


def find_unfinished(out_dir: Path, ident: dict) -> Path | None:
    """The newest unfinished run in `out_dir` whose process is gone and whose configuration is `ident`."""
    found = []
    for path in abandoned(Path(out_dir)):
        try:
            same = (path / RESUMABLE).exists() and read_manifest(path) == ident
        except (OSError, ValueError):
            continue
        if same:
            found.append(path)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None
