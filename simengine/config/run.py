"""The run settings around a scenario: how many replicas, which seed, where results go."""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.validate import spec

RUN_KEYS = ("replicas", "seed", "executor", "workers", "out_dir", "plots", "progress")


@dataclass(frozen=True)
class RunSettings:
    replicas: int = spec(8, ge=1)
    seed: int = spec(0, ge=0)
    executor: str = spec("serial", choices=("serial", "processes"))
    workers: int = spec(2, ge=1)
    out_dir: str = spec("results")
    plots: bool = spec(True)
    progress: bool | None = spec(None, doc="progress bars; null: when stderr is a terminal")


FATIGUE_RUN_KEYS = ("replicas", "seed", "out_dir", "plots")


@dataclass(frozen=True)
class FatigueSettings:
    replicas: int = spec(2000, ge=1)
    seed: int = spec(0, ge=0)
    out_dir: str = spec("results")
    plots: bool = spec(True)
