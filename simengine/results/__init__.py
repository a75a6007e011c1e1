"""HDF5 result store, across-replica KPI summaries and plots of a run.

The names below resolve on first use (PEP 562): importing a light part of the
package (``results.publish``, ``results.summary``) does not import h5py or
matplotlib, so a configuration mistake is reported before them.
"""

from importlib import import_module

_HOME = {
    "plot_run": "plots",
    "git_revision": "provenance", "redact_secrets": "provenance",
    "ReplicaResult": "store", "RunData": "store", "Table": "store", "read_run": "store", "write_run": "store",
    "KpiSpec": "summary", "format_table": "summary", "summarize": "summary",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOME[name]}"), name)
