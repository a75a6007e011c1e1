"""Provenance of a run: the environment it ran in, and its configuration with secrets removed."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, ListConfig, OmegaConf

SECRET_MARKERS = ("password", "secret", "token", "passphrase", "private_key", "api_key")
REDACTED = "***"
PACKAGES = (
    "numpy", "scipy", "simpy", "jax", "jaxlib", "h5py", "hydra-core",
    "omegaconf", "pymodbus", "asyncua", "matplotlib", "simengine",
)


def redact_secrets(obj):
    """Return a copy of ``obj`` with every secret value replaced by ``"***"``.

    A key is secret when its name contains, in any case, one of
    ``SECRET_MARKERS``. Mappings, lists and tuples are searched at any depth.
    """
    if isinstance(obj, Mapping):
        return {
            k: REDACTED if any(m in str(k).lower() for m in SECRET_MARKERS) else redact_secrets(v)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        items = [redact_secrets(v) for v in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    return redact_url(obj) if isinstance(obj, str) else obj


_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]*@", re.IGNORECASE)


def redact_url(text: str) -> str:
    """`text` with the password of any URL's user info replaced (opc.tcp://user:***@host/)."""
    return _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)


def to_plain(obj):
    """Config -> dicts, lists and scalars that OmegaConf can serialise."""
    if isinstance(obj, (DictConfig, ListConfig)):
        return OmegaConf.to_container(obj, resolve=True)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_plain(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, (np.ndarray, np.generic)):
        return obj.tolist()
    return str(obj) if isinstance(obj, os.PathLike) else obj


def environment() -> dict[str, str]:
    return {
        "python_version": sys.version,
        "platform": platform.platform(),
        "git_revision": git_revision(Path(__file__).resolve().parents[2]),
        "packages": json.dumps({name: package_version(name) for name in PACKAGES}),
    }


def package_version(name: str, missing: str = "not installed") -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return missing


def git_revision(folder: Path) -> str:
    """Commit of the git checkout rooted at ``folder``, "+dirty" if modified, else "unknown"."""
    top = _git(folder, "rev-parse", "--show-toplevel")
    # An installed package sits in site-packages, which may lie inside some unrelated repository.
    if top is None or Path(top).resolve() != folder.resolve():
        return "unknown"
    head = _git(folder, "rev-parse", "HEAD")
    if head is None:
        return "unknown"
    return head + ("+dirty" if _git(folder, "status", "--porcelain") else "")


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()
