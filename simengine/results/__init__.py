"""HDF5 result store, across-replica KPI summaries and plots of a run."""

from simengine.results.plots import plot_run
from simengine.results.provenance import git_revision, redact_secrets
from simengine.results.store import ReplicaResult, RunData, Table, read_run, write_run
from simengine.results.summary import KpiSpec, format_table, summarize

__all__ = [
    "KpiSpec",
    "ReplicaResult",
    "RunData",
    "Table",
    "format_table",
    "git_revision",
    "plot_run",
    "read_run",
    "redact_secrets",
    "summarize",
    "write_run",
]
