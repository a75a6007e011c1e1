"""The virtual PLC served over Modbus and recorded end to end, faults included."""

import asyncio
import socket

import numpy as np
import pytest
from pace import deadline

import simengine
from simengine.config import build
from simengine.config.plc import RecordConfig, ServeConfig
from simengine.plc.readings import Quality
from simengine.plc.recorder import read_recording
from simengine.plc.service import record_modbus, serve, servers_for
from simengine.virtual_plc import PhysicsSource


async def listening(servers, quiet_s=10.0):
    end = asyncio.get_running_loop().time() + deadline(quiet_s)
    while not servers[0].running:
        assert asyncio.get_running_loop().time() < end, "the virtual PLC did not start listening"
        await asyncio.sleep(0.01)


async def stopped(serving):
    """The serving task ended once the recording has ended: its duration only has to outlast the recording."""
    serving.cancel()
    await asyncio.gather(serving, return_exceptions=True)


@pytest.fixture(scope="module")
def source_factory():
    sc = simengine.load_scenario("crane_fleet", {"fleet.count": 2})
    return lambda: PhysicsSource(sc, [0, 1], seed=3)


def test_serve_and_record_over_modbus_with_nan_and_restart_faults(source_factory, tmp_path):
    source = source_factory()
    tagmap = source.tagmap()
    temp_tag = next(t.name for t in tagmap.tags if t.quantity == "temperature_C")
    # on a busy machine the reconnect after the restart takes longer: record longer, so that it is in the file
    record_s = round(5.0 + deadline(3.0) - 3.0, 1)
    cfg = build(ServeConfig, {"protocols": ["modbus"], "modbus_port": 0, "rate_hz": 5.0, "duration_s": record_s + 1.0,
                              "faults": [{"at_s": 0.8, "kind": "nan", "duration_s": 0.6, "tags": [temp_tag]},
                                         {"at_s": 4.0, "kind": "out_of_range", "duration_s": 0.6, "tags": [temp_tag]},
                                         {"at_s": 2.0, "kind": "restart", "duration_s": 1.0}]})
    path = tmp_path / "rec.h5"

    async def run():
        servers = servers_for(tagmap, cfg)
        task = asyncio.create_task(serve(source, cfg, servers=servers, log=lambda *_: None))
        await listening(servers)
        rec_cfg = build(RecordConfig, {"port": servers[0].port, "rate_hz": 5.0, "duration_s": record_s,
                                       "flush_interval_s": 0.2})
        await record_modbus(tagmap, rec_cfg, path, {"note": "test"})
        await stopped(task)

    asyncio.run(run())
    r = read_recording(path)
    assert r.closed_cleanly and r.time_s.size == round(5 * record_s)  # every slot at 5 Hz is there
    assert np.all(np.diff(r.time_s) == pytest.approx(0.2, abs=deadline(0.05)))
    col = r.tags.index(temp_tag)
    assert (r.quality[:, col] == Quality.NOT_FINITE).any()  # the NaN fault is flagged, not passed on
    assert (r.quality[:, col] == Quality.OUT_OF_RANGE).any()
    lost = np.flatnonzero((r.quality == Quality.COMM_FAILURE).all(axis=1))
    assert lost.size >= 3 and len(r.gaps) >= 1  # the restart is a recorded gap
    back = r.time_s[lost[-1] + 1]
    assert back - r.gaps[0][0] < deadline(1.0 + 5.0)  # reconnected within 5 s of the server's return
    good = r.quality[lost[-1] + 1:] == Quality.GOOD
    assert good.mean() > 0.95


def test_serve_and_record_over_opcua(source_factory, tmp_path):
    source = source_factory()
    tagmap = source.tagmap()
    with socket.socket() as sock:  # the OPC UA server needs a concrete port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = build(ServeConfig, {"protocols": ["opcua"], "opcua_port": port, "rate_hz": 2.0, "duration_s": 7.0})
    path = tmp_path / "rec.h5"

    async def run():
        from simengine.plc.opcua_client import OpcUaClientConfig
        from simengine.plc.service import record_opcua

        servers = servers_for(tagmap, cfg)
        task = asyncio.create_task(serve(source, cfg, servers=servers, log=lambda *_: None))
        await listening(servers)
        rec_cfg = build(RecordConfig, {"protocol": "opcua", "duration_s": 4.0, "flush_interval_s": 0.5})
        await record_opcua(tagmap, rec_cfg, path, {}, client_config=OpcUaClientConfig(url=servers[0].url,
                                                                                       publishing_interval_ms=250))
        await stopped(task)

    asyncio.run(run())
    r = read_recording(path)
    assert r.closed_cleanly and r.time_s.size >= 6
    full = (r.quality != 255).all(axis=1)  # one row per update, every tag in it
    assert full[1:-1].all()
    assert ((r.quality[full] == Quality.GOOD) | (r.quality[full] == Quality.NOT_FINITE)).all()
