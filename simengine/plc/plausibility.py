"""Is a tag map decoding what the PLC sends? Implausible values, and the word order that would fix them.

A tag map with the wrong ``word_order`` decodes every multi-register value
into garbage: swapping the 16-bit words of a float moves mantissa bits into
the exponent, so the values land anywhere from denormals (1e-41) to 1e+38,
and about half of them inside a tag's valid range, flagged GOOD one by one.
Taken over a tag's readings the pattern is plain. A value is implausible
when it lies outside the tag's valid range by more than `FAR` times the
range's magnitude, or is a float no sensor reports: non-zero but below
`TINY` times that magnitude (a denormal of a swapped zero word), or beyond
`HUGE` where the tag has no range. A tag is implausible when most of its
finite readings are (`MAJORITY`).

For each implausible multi-register Modbus tag the values are re-encoded
with the map's word order and decoded with the other: when that makes them
plausible, the word order is what is wrong, and `check_plausibility`'s
message says which to set. Values are engineering values (raw · scale + offset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simengine.plc.codec import decode_words, encode_raw, to_engineering, to_raw
from simengine.plc.tags import REGISTER_WIDTH, Tag, TagMap

FAR = 1e3  # outside the valid range by this many times its magnitude: not a sensor fault, a decoding error
TINY = 1e-9  # non-zero but this many times smaller than the range's magnitude: a swapped zero word
HUGE = 1e30  # no tag without a range holds numbers this large
MAJORITY = 0.5  # share of a tag's finite readings that must be implausible


@dataclass(frozen=True)
class TagVerdict:
    """One implausible tag: its name, the share of its finite readings that are implausible, an
    example value, and the word order that makes its values plausible (None: neither does)."""

    name: str
    share: float
    example: float
    word_order: str | None = None
    example_swapped: float | None = None


@dataclass(frozen=True)
class PlausibilityReport:
    checked: int  # tags with finite readings
    implausible: tuple[TagVerdict, ...]
    message: str  # "" when every tag is plausible

    @property
    def ok(self) -> bool:
        return not self.implausible

    @property
    def word_order_wrong(self) -> tuple[TagVerdict, ...]:
        """The implausible tags that the other word order makes plausible."""
        return tuple(v for v in self.implausible if v.word_order is not None)


def implausible_values(tags: list[Tag] | tuple[Tag, ...], values: np.ndarray) -> np.ndarray:
    """Bool (T, n): which of `values` (T, n), engineering values of `tags`, are implausible (NaN is not)."""
    values = np.atleast_2d(np.asarray(values, float))
    lo = np.array([np.nan if t.valid_min is None else t.valid_min for t in tags])
    hi = np.array([np.nan if t.valid_max is None else t.valid_max for t in tags])
    size = np.fmax(np.abs(lo), np.abs(hi))
    size = np.where(np.isfinite(size) & (size > 0), size, np.nan)
    ranged = np.isfinite(size)
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        far = (values < lo - FAR * size) | (values > hi + FAR * size)
        tiny = (magnitude > 0) & (magnitude < np.where(ranged, TINY * size, np.finfo(np.float32).tiny))
        huge = ~ranged & (magnitude > HUGE)
    return np.isfinite(values) & (far | tiny | huge) | np.isinf(values)


def check_plausibility(tagmap: TagMap, readings, *, decoded_from_registers: bool = True) -> PlausibilityReport:
    """Which tags of `tagmap` read implausible values, and a message suggesting the word order.

    readings: engineering values (T, n_tags) or (n_tags,) in the map's tag order, or a
    `Recording` (its columns matched to the map by tag name; tags it lacks are skipped).
    decoded_from_registers: False for values that came over OPC UA (no word order to blame).
    """
    tags, values = _columns(tagmap, readings)
    bad = implausible_values(tags, values)
    finite = np.isfinite(values)
    verdicts = []
    for j, tag in enumerate(tags):
        n = int(finite[:, j].sum())
        if n == 0 or bad[:, j].sum() <= MAJORITY * n:
            continue
        example = float(values[bad[:, j], j][0])
        share = bad[:, j].sum() / n
        verdicts.append(_with_other_order(tag, values[finite[:, j], j], example, share) if decoded_from_registers
                        else TagVerdict(tag.name, float(share), example))
    checked = int(finite.any(axis=0).sum())
    return PlausibilityReport(checked, tuple(verdicts), _message(tagmap, checked, verdicts))


def _columns(tagmap: TagMap, readings) -> tuple[list[Tag], np.ndarray]:
    if hasattr(readings, "tags") and hasattr(readings, "values"):  # a Recording
        index = {name: k for k, name in enumerate(readings.tags)}
        tags = [t for t in tagmap.tags if t.name in index]
        values = np.asarray(readings.values, float)[:, [index[t.name] for t in tags]]
        return tags, values.reshape(-1, len(tags))
    values = np.atleast_2d(np.asarray(readings, float))
    if values.shape[1] != len(tagmap.tags):
        raise ValueError(f"readings have {values.shape[1]} columns; tag map {tagmap.name!r} has {len(tagmap.tags)} tags")
    return list(tagmap.tags), values


def _with_other_order(tag: Tag, values: np.ndarray, example: float, share: float) -> TagVerdict:
    """The verdict, with the other word order when it makes most of the tag's values plausible."""
    if tag.modbus is None or REGISTER_WIDTH[tag.dtype] == 1:
        return TagVerdict(tag.name, float(share), example)
    order, other = tag.modbus.word_order, "little" if tag.modbus.word_order == "big" else "big"
    words, _ = encode_raw(to_raw(values, tag.scale, tag.offset), tag.dtype, order)
    swapped = to_engineering(decode_words(words, tag.dtype, other), tag.scale, tag.offset)
    still_bad = implausible_values([tag], swapped[:, None])[:, 0]
    if still_bad.mean() > 1.0 - MAJORITY or not np.isfinite(swapped).mean() > MAJORITY:
        return TagVerdict(tag.name, float(share), example)
    return TagVerdict(tag.name, float(share), example, other, float(swapped[np.isfinite(swapped)][0]))


def _message(tagmap: TagMap, checked: int, verdicts: list[TagVerdict]) -> str:
    if not verdicts:
        return ""
    first = verdicts[0]
    tag = tagmap.by_name(first.name)
    text = (f"tag map {tagmap.name!r}: {len(verdicts)} of {checked} tags read implausible values "
            f"(e.g. {first.name} = {first.example:.4g}{_range(tag)})")
    swapped = [v for v in verdicts if v.word_order is not None]
    if swapped:
        orders = sorted({v.word_order for v in swapped})
        eg = swapped[0]
        return (f"{text}; these are denormal or huge floats, as swapped 16-bit words give: "
                f"{len(swapped)} of them read plausibly with the other word order "
                f"(e.g. {eg.name} = {eg.example_swapped:.6g}): set word_order: {' or '.join(orders)} "
                f"in their modbus points (now {tagmap.by_name(eg.name).modbus.word_order!r})")
    return f"{text}; check the tags' dtype, scale, offset and address (word order would not fix them)"


def _range(tag: Tag) -> str:
    if tag.valid_min is None and tag.valid_max is None:
        return ""
    lo = "-inf" if tag.valid_min is None else f"{tag.valid_min:g}"
    hi = "inf" if tag.valid_max is None else f"{tag.valid_max:g}"
    return f" {tag.unit}, valid range [{lo}, {hi}]"
