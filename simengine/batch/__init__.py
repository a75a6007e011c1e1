"""Monte Carlo batches of replicas."""

from simengine.batch.executors import EXECUTORS, run_replicas

__all__ = ["EXECUTORS", "run_replicas"]
