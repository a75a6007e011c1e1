"""`simengine fatigue`'s results folder and signal handling: the shared ones of `simengine.results.publish`."""

from simengine.results.publish import PendingSignals, StagedFolder, Terminated, signals_end_run, sweep_stale

__all__ = ["PendingSignals", "StagedFolder", "Terminated", "signals_end_run", "sweep_stale"]
