"""Register codec: known wire layouts, round trips (Hypothesis), clipping, and decode speed."""

import struct
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simengine.plc import DTYPES, REGISTER_WIDTH, tagmap_from_dict
from simengine.plc.codec import INT_RANGE, TagCodec, decode_tag, decode_words, encode_raw, encode_tag

ORDERS = ("big", "little")
STRUCT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f", "float64": "d"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("order", ORDERS)
def test_wire_layout_matches_struct(dtype, order):
    raw = -2 if dtype.startswith("int") else 1.5 if dtype.startswith("float") else 40000
    words = list(struct.unpack(f">{REGISTER_WIDTH[dtype]}H", struct.pack(f">{STRUCT[dtype]}", raw)))
    if order == "little":
        words = words[::-1]
    got, clipped = encode_raw(np.array([raw]), dtype, order)
    assert got.tolist() == [words] and not clipped[0]
    assert decode_words(np.array([words]), dtype, order).tolist() == [raw]


def test_known_vectors():
    assert encode_raw(np.array([1.5]), "float32", "big")[0].tolist() == [[0x3FC0, 0x0000]]
    assert encode_raw(np.array([1.5]), "float32", "little")[0].tolist() == [[0x0000, 0x3FC0]]
    assert encode_raw(np.array([0x12345678]), "uint32", "big")[0].tolist() == [[0x1234, 0x5678]]
    assert encode_raw(np.array([1.0]), "float64", "little")[0].tolist() == [[0, 0, 0, 0x3FF0]]


ints = st.sampled_from(sorted(INT_RANGE)).flatmap(
    lambda d: st.tuples(st.just(d), st.lists(st.integers(*INT_RANGE[d]), min_size=1, max_size=20)))
scales = st.sampled_from([1.0, 0.1, 0.01, 2.5, -0.5, 1e-3])
offsets = st.sampled_from([0.0, -40.0, 273.15, 1e3])


@settings(max_examples=200, deadline=None)
@given(ints, scales, offsets, st.sampled_from(ORDERS))
def test_integer_round_trip_is_exact(dtype_raw, scale, offset, order):
    dtype, raw = dtype_raw
    tags = [{"name": "t", "quantity": "x", "dtype": dtype, "scale": scale, "offset": offset,
             "modbus": {"address": 0, "word_order": order}}]
    tag = tagmap_from_dict({"tags": tags}).tags[0]
    for r in raw:
        value = r * scale + offset
        words, clipped = encode_tag(tag, value)
        assert not clipped and decode_tag(tag, words) == value


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=1, max_size=20), st.sampled_from(ORDERS))
def test_float64_round_trip_is_exact(values, order):
    words, clipped = encode_raw(np.array(values), "float64", order)
    assert decode_words(words, "float64", order).tolist() == values and not clipped.any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=20),
       st.sampled_from(ORDERS))
def test_float32_round_trip_to_float32_precision(values, order):
    words, clipped = encode_raw(np.array(values), "float32", order)
    with np.errstate(over="ignore"):
        expected = np.array(values).astype(np.float32).astype(float)
    np.testing.assert_array_equal(decode_words(words, "float32", order), expected)
    np.testing.assert_array_equal(clipped, np.isinf(expected))


def test_non_finite_floats_pass_through():
    for dtype in ("float32", "float64"):
        words, clipped = encode_raw(np.array([np.nan, np.inf, -np.inf]), dtype)
        got = decode_words(words, dtype)
        assert np.isnan(got[0]) and got[1] == np.inf and got[2] == -np.inf and not clipped.any()


@pytest.mark.parametrize("dtype, raw, served", [
    ("int16", 40000, 32767), ("int16", -1e9, -32768), ("uint16", -3, 0), ("uint16", 70000, 65535),
    ("int32", 3e9, 2**31 - 1), ("uint32", -1, 0), ("int16", np.nan, 0), ("uint32", np.inf, 0)])
def test_integers_are_clipped_and_flagged(dtype, raw, served):
    words, clipped = encode_raw(np.array([raw]), dtype)
    assert clipped[0] and decode_words(words, dtype)[0] == served


def test_integers_are_rounded_without_a_flag():
    words, clipped = encode_raw(np.array([2.4, 2.6, -2.5]), "int16")
    assert decode_words(words, "int16").tolist() == [2, 3, -2] and not clipped.any()


def test_bad_dtype_or_order_names_the_value():
    with pytest.raises(ValueError, match="'float16'"):
        encode_raw(np.array([1.0]), "float16")
    with pytest.raises(ValueError, match="'middle'"):
        decode_words(np.zeros((1, 2)), "int32", "middle")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(DTYPES), st.sampled_from(ORDERS), st.sampled_from(("holding", "input")),
                          st.integers(0, 3)), min_size=1, max_size=30), st.randoms(use_true_random=False))
def test_tag_codec_round_trips_a_mixed_map(layout, rnd):
    tags, next_free = [], {"holding": 0, "input": 0}
    for i, (dtype, order, register, gap) in enumerate(layout):
        address = next_free[register] + gap
        next_free[register] = address + REGISTER_WIDTH[dtype]
        tags.append({"name": f"t{i}", "quantity": "x", "dtype": dtype, "scale": 0.5, "offset": 1.0,
                     "modbus": {"address": address, "register": register, "word_order": order}})
    m = tagmap_from_dict({"tags": tags})
    codec = TagCodec(m.tags)
    raw = np.array([rnd.randint(*INT_RANGE[t.dtype]) if t.dtype in INT_RANGE else rnd.uniform(-1e4, 1e4)
                    for t in m.tags])
    raw = np.where([t.dtype == "float32" for t in m.tags], raw.astype(np.float32), raw)
    values = raw * 0.5 + 1.0
    images = codec.new_images()
    assert not codec.encode_into(values, images).any()
    np.testing.assert_array_equal(codec.decode(images), values)


def test_decoding_12000_tags_takes_well_under_a_millisecond_per_thousand():
    m = tagmap_from_dict({"tags": [{"name": f"t{i}", "quantity": "x", "modbus": {"address": 2 * i}} for i in range(12000)]})
    codec = TagCodec(m.tags)
    images = codec.new_images()
    codec.encode_into(np.arange(12000.0), images)
    best = min(_timed(codec.decode, images) for _ in range(20))
    print(f"\ndecode 12,000 float32 tags: {best * 1e3:.3f} ms ({best / 12 * 1e6:.1f} us per 1,000 tags)")
    np.testing.assert_array_equal(codec.decode(images), np.arange(12000.0))
    assert best < 12e-3 / 2


def _timed(f, *args):
    t = time.perf_counter()
    f(*args)
    return time.perf_counter() - t
