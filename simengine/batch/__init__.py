"""Monte Carlo batches of replicas: pools that run them, streaming to disk, resume."""

from simengine.batch.executors import run_replicas
from simengine.batch.pools import EXECUTORS, DaskPool, ProcessPool, SerialPool, open_pool
from simengine.batch.stream import run_streamed

__all__ = ["EXECUTORS", "DaskPool", "ProcessPool", "SerialPool", "open_pool", "run_replicas", "run_streamed"]
