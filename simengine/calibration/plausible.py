"""Readings no sensor of their quantity could give: garbage from a wrong tag map, not noise.

A float32 or float64 decoded with its words swapped (a tag map's wrong `word_order`) is a number of
any magnitude: 1e30, 4e-39, now and then one that looks fine. A tag's valid range (where the map
gives one) flags some of them; these ranges, in the model's physical units (a tag's value divided by
its sensor gain), flag the rest whatever the map says: outside the physically possible range of the
quantity by more than its width, or smaller in magnitude than any sensor resolves. One such reading is
excluded and counted (IMPLAUSIBLE); a tag whose readings mostly are is refused by name, since the few
that look fine are garbage too.
"""

from __future__ import annotations

import numpy as np

from simengine.config.validate import ConfigError, Problem
from simengine.kinds.quantities import PHYSICAL_RANGE
from simengine.plc.tags import LOAD_COUNTER

IMPLAUSIBLE = 254  # a quality code of the calibration's own (the PLC's codes stop at 5, 255 is absent)
TINY = 1e-12  # a nonzero reading smaller than this, in physical units, is no sensor's resolution
MOSTLY = 0.5  # a tag with more than this share of its finite readings implausible is refused
# each quantity's physically possible range widened by its own width either side (physical units): a noisy
# sensor reads past the possible now and then (an idle vibration below 0), garbage misses by orders of magnitude
RANGE = {**{q: (lo - (hi - lo), hi + (hi - lo)) for q, (lo, hi) in PHYSICAL_RANGE.items()
            if q in ("vibration_rms", "natural_frequency_hz", "temperature_C", "load_factor")},
         LOAD_COUNTER: (-1e10, 1e10)}  # rated-load seconds: some 300 years of load


def implausible(physical: np.ndarray, quantity: str) -> np.ndarray:
    """(T,) True where a finite reading (physical units) is outside its quantity's range or tiny."""
    physical = np.asarray(physical, float)
    if quantity not in RANGE:
        return np.zeros(physical.shape, bool)
    lo, hi = RANGE[quantity]
    with np.errstate(invalid="ignore"):
        return np.isfinite(physical) & ((physical < lo) | (physical > hi) | ((physical != 0) & (np.abs(physical) < TINY)))


def refuse_implausible_tags(values: np.ndarray, bad: dict[int, np.ndarray], tags, gains: dict[str, float]) -> None:
    """ConfigError naming each tag (column j of `values`) whose finite readings are mostly implausible
    (`bad[j]`), with a reading of it and the rule."""
    problems = []
    for j, flag in bad.items():
        finite = int(np.isfinite(values[:, j]).sum())
        if not finite or flag.sum() <= MOSTLY * finite:
            continue
        tag = tags[j]
        gain = gains.get(tag.name, 1.0)
        lo, hi = sorted(gain * np.asarray(RANGE[tag.quantity]))
        example = float(values[np.flatnonzero(flag)[0], j])
        problems.append(Problem(f"tags[{tag.name}]", f"{example:.6g} {tag.unit} ({int(flag.sum())} of {finite} readings "
                                f"like it)", f"{tag.quantity} lies within [{lo:g}, {hi:g}] {tag.unit}, and no "
                                "sensor reads below 1e-12: check the tag map's word_order (and dtype, scale) for this tag"))
    if len(problems) > 3:  # a whole map decoded wrong: one message, not a hundred
        first = problems[0]
        problems = [Problem(f"{first.field[:-1]} and {len(problems) - 1} more tags]", first.value,
                            first.rule.replace("this tag", "these tags"))]
    if problems:
        raise ConfigError(problems)
