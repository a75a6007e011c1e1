"""The run settings around a scenario: how many replicas, which seed, where they run, where results go."""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.sweep import SweepSettings
from simengine.config.validate import spec

EXECUTOR_CHOICES = ("serial", "processes", "dask")
RUN_KEYS = ("replicas", "seed", "executor", "workers", "dask", "chunk", "out_dir", "plots", "progress", "resume", "sweep",
            "profile")


@dataclass(frozen=True)
class DaskSettings:
    address: str | None = spec(None, doc="tcp://host:8786 of a running scheduler; null: a LocalCluster of `workers`")
    timeout_s: float = spec(10.0, gt=0.0, doc="how long to wait for the scheduler at `address`")


@dataclass(frozen=True)
class Execution:
    """Where a job's replicas run and where its results go: the keys that run, fatigue, sensitivity
    and optimize share (each job's settings class adds its own)."""

    executor: str = spec("serial", choices=EXECUTOR_CHOICES)
    workers: int = spec(2, ge=1)
    dask: DaskSettings = spec(default_factory=DaskSettings)
    chunk: int | None = spec(None, ge=1, doc="replicas per task; null: a few tasks per worker")
    out_dir: str = spec("results")
    plots: bool = spec(True)
    progress: bool | None = spec(None, doc="progress bars; null: when stderr is a terminal")


@dataclass(frozen=True)
class RunSettings(Execution):
    replicas: int = spec(8, ge=1)
    seed: int = spec(0, ge=0)
    resume: str | None = spec(None, doc="the .<name>.partial-<pid> folder of an interrupted run to finish")
    sweep: SweepSettings = spec(default_factory=SweepSettings, doc="what-if sweeps (run -m): the baseline variant")
    profile: bool = spec(False, doc="profile the replicas (cProfile, in each worker, merged): profile.txt and "
                                    "profile.prof in the run's folder")


FATIGUE_RUN_KEYS = ("replicas", "seed", "executor", "workers", "dask", "chunk", "out_dir", "plots", "progress")


@dataclass(frozen=True)
class FatigueSettings(Execution):
    replicas: int = spec(2000, ge=1)
    seed: int = spec(0, ge=0)
