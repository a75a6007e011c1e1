"""The settings of a what-if sweep (`simengine run -m ...`): what the variants are compared against."""

from __future__ import annotations

from dataclasses import dataclass

from simengine.config.validate import spec


@dataclass(frozen=True)
class SweepSettings:
    baseline: str | None = spec(None, doc="the variant the others are compared with: its number in the table "
                                          "(0 = the first) or its label, e.g. 'crews.count=3'; null: the first")
