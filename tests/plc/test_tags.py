"""Tag maps: every problem listed at once; quality flags."""

import numpy as np
import pytest

from simengine.config import ConfigError
from simengine.plc import Quality, QualityAssessor, tagmap_from_dict


def tag(name, address=None, dtype="float32", node=None, **kw):
    t = {"name": name, "quantity": "x", "dtype": dtype, **kw}
    if address is not None:
        t["modbus"] = {"address": address}
    if node is not None:
        t["opcua"] = {"node_id": node}
    return t


def test_a_bad_map_lists_every_problem():
    with pytest.raises(ConfigError) as err:
        tagmap_from_dict({"tags": [tag("a", 0), tag("a", 1, "float64"), tag("c", 9, "int8"), {"name": "d", "quantity": "q"},
                                   tag("e", node="ns=2;s=x"), tag("f", node="ns=2;s=x"), tag("g", 65535, "float32")]})
    text = str(err.value)
    for expected in ["tags[2].dtype = 'int8': must be one of", "tags[3] = 'd': needs a modbus address or an opcua node_id",
                     "tags[1].name = 'a': duplicate; also tags[0]",
                     "tags[1].modbus.address = 1: holding register 1 is also used by tags[0] (a)",
                     "tags[5].opcua.node_id = 'ns=2;s=x': duplicate; also tags[4]",
                     "tags[6].modbus.address = 65535: a float32 needs 2 registers below 65536"]:
        assert expected in text
    assert text.startswith("6 problems")


def test_holding_and_input_registers_do_not_overlap_each_other():
    m = tagmap_from_dict({"tags": [tag("a", 0), {**tag("b"), "modbus": {"address": 0, "register": "input"}}]})
    assert [t.name for t in m.modbus_tags] == ["a", "b"]


def test_quality_flags_not_finite_out_of_range_and_stale():
    m = tagmap_from_dict({"tags": [tag("a", 0, valid_min=0.0, valid_max=10.0, stale_after_s=5.0), tag("b", 2)]})
    q = QualityAssessor(m)
    idx = np.array([0, 1])
    assert q.assess(0.0, idx, [1.0, np.nan]).tolist() == [Quality.GOOD, Quality.NOT_FINITE]
    assert q.assess(1.0, idx, [11.0, np.inf]).tolist() == [Quality.OUT_OF_RANGE, Quality.NOT_FINITE]
    assert q.assess(2.0, idx, [11.0, 1.0]).tolist() == [Quality.OUT_OF_RANGE, Quality.GOOD]
    assert q.assess(3.0, idx, [5.0, 1.0]).tolist() == [Quality.GOOD, Quality.GOOD]
    assert q.assess(8.5, idx, [5.0, 1.0]).tolist() == [Quality.STALE, Quality.GOOD]  # b has no stale limit


def test_the_shipped_example_tag_map_is_valid():
    from pathlib import Path

    from simengine.plc import load_tagmap

    m = load_tagmap(Path(__file__).resolve().parents[2] / "conf/tagmap/crane_demo.yaml")
    assert len(m.modbus_tags) == 7 and len(m.opcua_tags) == 4
    assert [t.name for t in m.tags if t.access == "read_write"] == ["crane07.hoist.speed_limit"]
