import os
from pathlib import Path

import pytest

# Compiled kernels and JAX executables go to this checkout's (git-ignored) pytest folder, not the
# user's ~/.cache; child processes of the tests inherit it. Set before simengine configures its caches.
os.environ["SIMENGINE_CACHE_DIR"] = str(Path(__file__).resolve().parent.parent / ".pytest_cache" / "simengine")

import simengine  # noqa: F401  (turns on float64 in JAX before any test builds arrays)


@pytest.fixture(scope="session")
def client():
    """A real 2-worker Dask LocalCluster on 127.0.0.1 (processes, one thread each), one for the whole session:
    each module that asks for it would otherwise pay a cluster's start and stop and its workers' imports
    again. A test that kills a worker waits until the nanny has replaced it, so the next one finds two."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    with Client(cluster) as c:
        yield c
    cluster.close()
