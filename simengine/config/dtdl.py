"""Settings of `simengine dtdl`: where the DTDL export goes, and the finished run it may come from."""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.validate import spec

# keys of conf/dtdl.yaml besides the scenario's; `from` is a Python keyword, so its field is `run`
DTDL_KEYS = ("out_dir", "from")


@dataclass(frozen=True)
class DtdlSettings:
    out_dir: str = spec("results", doc="the export goes into <out_dir>/dtdl-<scenario>-<UTC time>/")
    run: str | None = spec(None, doc="from=<run.h5>: export the plant a finished run simulated (its /plant graph "
                                     "and stored scenario), not the composed scenario")
