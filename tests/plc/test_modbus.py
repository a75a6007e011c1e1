"""Modbus TCP end to end on 127.0.0.1: our client and server, independent peers, outages, writes, planning."""

import asyncio
import dataclasses
import itertools
import socket
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymodbus.client import AsyncModbusTcpClient
from pyModbusTCP import utils as peer_utils
from pyModbusTCP.client import ModbusClient as PeerClient
from pyModbusTCP.server import ModbusServer as PeerServer
from pace import deadline

from simengine.plc import DTYPES, REGISTER_WIDTH, Quality, tagmap_from_dict
from simengine.plc.codec import INT_RANGE
from simengine.plc.modbus_client import Backoff, ModbusClient, plan_reads
from simengine.plc.modbus_server import ModbusServer

ORDERS = ("big", "little")
SCALED = {"int16": (0.1, -40.0), "uint16": (0.01, 0.0), "int32": (0.001, 5.0), "uint32": (2.5, -1.0),
          "float32": (0.5, 10.0), "float64": (1.0, 0.0)}
RAW = {"int16": -12345, "uint16": 54321, "int32": -2_000_000_000, "uint32": 4_000_000_000,
       "float32": float(np.float32(1234.5678)), "float64": 1.0 / 3.0}


def run(coro, timeout_s=25.0):
    return asyncio.run(asyncio.wait_for(coro, deadline(timeout_s)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def every_type_map():
    """Each dtype × word order × register type, once plain and once scaled, with a gap after each."""
    tags, next_free = [], {"holding": 0, "input": 0}
    for dtype, order, register, scaled in itertools.product(DTYPES, ORDERS, ("holding", "input"), (False, True)):
        scale, offset = SCALED[dtype] if scaled else (1.0, 0.0)
        address = next_free[register]
        next_free[register] += REGISTER_WIDTH[dtype] + 1
        tags.append({"name": f"{dtype}_{order}_{register}_{int(scaled)}", "quantity": "x", "dtype": dtype,
                     "scale": scale, "offset": offset,
                     "modbus": {"address": address, "register": register, "word_order": order}})
    m = tagmap_from_dict({"name": "every_type", "tags": tags})
    return m, np.array([RAW[t.dtype] * t.scale + t.offset for t in m.tags])


def test_our_client_reads_every_type_from_our_server():
    m, values = every_type_map()

    async def main():
        async with ModbusServer(m, port=0) as srv, ModbusClient(m, port=srv.port, max_gap=1) as client:
            assert srv.update(values).size == 0
            return await client.poll_once(), len(client.requests)

    block, n_requests = run(main())
    assert n_requests == 2  # one per register type, bridging the one-register gaps
    assert (block.quality == Quality.GOOD).all() and block.tags.tolist() == list(range(len(m.tags)))
    np.testing.assert_array_equal(block.values, values)  # exact: float32 raws are float32 numbers


def peer_decode(dtype, order, words):
    big = order == "big"
    if dtype in ("int16", "uint16"):
        return peer_utils.get_2comp(words[0], 16) if dtype == "int16" else words[0]
    long = peer_utils.word_list_to_long(words, big_endian=big, long_long=dtype == "float64")[0]
    return {"int32": lambda v: peer_utils.get_2comp(v, 32), "uint32": lambda v: v,
            "float32": peer_utils.decode_ieee, "float64": lambda v: peer_utils.decode_ieee(v, double=True)}[dtype](long)


def test_independent_peer_client_reads_our_server():
    m, values = every_type_map()

    def peer_reads(port):
        peer = PeerClient(host="127.0.0.1", port=port, unit_id=1, timeout=deadline(5.0), auto_open=True)
        try:
            out = []
            for t in m.tags:
                read = peer.read_holding_registers if t.modbus.register == "holding" else peer.read_input_registers
                words = read(t.modbus.address, REGISTER_WIDTH[t.dtype])
                assert words is not None, peer.last_error_as_txt
                out.append(peer_decode(t.dtype, t.modbus.word_order, words) * t.scale + t.offset)
            return out
        finally:
            peer.close()

    async def main():
        async with ModbusServer(m, port=0) as srv:
            srv.update(values)
            return await asyncio.to_thread(peer_reads, srv.port)

    np.testing.assert_array_equal(run(main()), values)


def test_our_client_reads_an_independent_peer_server():
    m, values = every_type_map()
    port = free_port()
    server = PeerServer(host="127.0.0.1", port=port, no_block=True)
    for t, v in zip(m.tags, values):
        raw = (v - t.offset) / t.scale
        big = t.modbus.word_order == "big"
        if t.dtype in ("int16", "uint16"):
            words = [int(round(raw)) & 0xFFFF]
        elif t.dtype in INT_RANGE:
            words = peer_utils.long_list_to_word([int(round(raw)) & 0xFFFFFFFF], big_endian=big)
        else:
            double = t.dtype == "float64"
            words = peer_utils.long_list_to_word([peer_utils.encode_ieee(raw, double=double)], big_endian=big,
                                                 long_long=double)
        setter = (server.data_bank.set_holding_registers if t.modbus.register == "holding"
                  else server.data_bank.set_input_registers)
        setter(t.modbus.address, words)
    server.start()
    try:
        async def main():
            async with ModbusClient(m, port=port, max_gap=1) as client:
                return await client.poll_once()
        block = run(main())
    finally:
        server.stop()
    assert (block.quality == Quality.GOOD).all()
    np.testing.assert_array_equal(block.values, values)


def small_map(n=20, **extra):
    return tagmap_from_dict({"name": "small", "tags": [
        {"name": f"t{i}", "quantity": "x", "modbus": {"address": 2 * i}, **extra} for i in range(n)]})


def test_server_restart_mid_polling_is_a_recorded_gap_without_missing_slots():
    m = small_map()
    rate_hz, duration_s = 10.0, 6.0

    async def main():
        srv = ModbusServer(m, port=0)
        await srv.start()
        srv.update(np.arange(20.0))
        client = ModbusClient(m, port=srv.port, timeout_s=0.5, backoff=Backoff(0.1, 2.0))
        await client.connect()
        blocks = []
        polling = asyncio.create_task(client.run(rate_hz, duration_s, blocks.append))
        await asyncio.sleep(1.0)  # a second of polling before the outage
        t_stop = time.time()
        await srv.stop()
        await asyncio.sleep(2.0)  # two seconds down
        await srv.start()
        t_back = time.time()
        slots = await polling
        await client.close()
        await srv.stop()
        return blocks, slots, client.gaps, t_stop, t_back, client.missed_slots

    blocks, slots, gaps, t_stop, t_back, missed = run(main())
    assert slots == len(blocks) == round(rate_hz * duration_s) and missed == 0
    t = np.array([b.t_s for b in blocks])
    assert np.all(np.diff(t) > 0.5 / rate_hz) and np.all(np.diff(t) < 1.5 / rate_hz)  # every slot, on schedule
    good = np.array([(b.quality == Quality.GOOD).all() for b in blocks])
    failed = np.array([(b.quality == Quality.COMM_FAILURE).all() and np.isnan(b.values).all() for b in blocks])
    assert (good | failed).all()
    first_back = t[(t > t_back) & good][0]
    assert first_back - t_back < deadline(5.0)
    assert failed[(t > t_stop + 0.1) & (t < t_back)].all()
    assert good[t < t_stop].all() and good[t > first_back].all()
    assert len(gaps) == 1
    start, end, reason = gaps[0]
    assert t_stop <= start < t_stop + deadline(0.5) and t_back <= end <= first_back and reason


def test_a_failed_request_flags_its_tags_and_the_link_stays_up():
    served = small_map(20)
    extra = [{"name": f"x{i}", "quantity": "x", "modbus": {"address": 1000 + 2 * i}} for i in range(10)]
    wanted = tagmap_from_dict({"tags": [dataclasses.asdict(t) for t in served.tags] + extra})  # 10 the server lacks

    async def main():
        async with ModbusServer(served, port=0) as srv, ModbusClient(wanted, port=srv.port) as client:
            srv.update(np.arange(20.0))
            return await client.poll_once(), client.failed_requests, client.connected, client.gaps

    block, failed, connected, gaps = run(main())
    assert block.tags.tolist() == list(range(30)) and failed == 1 and connected and gaps == []
    assert block.values[:20].tolist() == list(range(20)) and (block.quality[:20] == Quality.GOOD).all()
    assert (block.quality[20:] == Quality.COMM_FAILURE).all() and np.isnan(block.values[20:]).all()


def test_a_silent_server_costs_one_timeout_per_poll_not_one_per_request():
    m = small_map(500)  # 9 requests

    async def main():
        accepted = []
        silent = await asyncio.start_server(lambda r, w: accepted.append(w), "127.0.0.1", 0)  # never answers
        port = silent.sockets[0].getsockname()[1]
        try:
            client = ModbusClient(m, port=port, timeout_s=0.2, backoff=Backoff(5.0, 5.0))
            assert await client.connect()
            t = time.perf_counter()
            block = await client.poll_once()
            took = time.perf_counter() - t
            down = not client.connected
            await client.close()
            return block, took, down, client.gaps
        finally:
            for writer in accepted:
                writer.close()
            silent.close()
            await silent.wait_closed()

    block, took, down, gaps = run(main())
    assert (block.quality == Quality.COMM_FAILURE).all() and took < deadline(1.0) and down
    assert len(gaps) == 1 and "no answer" in gaps[0].reason and "still down at close" in gaps[0].reason


def test_dropped_connections_and_frozen_values():
    m = small_map()

    async def main():
        async with ModbusServer(m, port=0) as srv, ModbusClient(m, port=srv.port, backoff=Backoff(0.05, 0.2)) as c:
            srv.update(np.full(20, 1.0))
            srv.freeze(True)
            assert srv.update(np.full(20, 2.0)) is None
            frozen = await c.poll_once()
            assert srv.drop_connections() == 1
            end = time.monotonic() + deadline(2.0)
            while c.connected and time.monotonic() < end:  # the client noticing the drop
                await asyncio.sleep(0.01)
            during = await c.poll_once()
            end = time.monotonic() + deadline(5.0)
            while not c.connected and time.monotonic() < end:  # the reconnect
                await asyncio.sleep(0.02)
            srv.freeze(False)
            srv.update(np.full(20, 3.0))
            return frozen, during, await c.poll_once(), c.gaps

    frozen, during, after, gaps = run(main())
    assert (frozen.values == 1.0).all() and (frozen.quality == Quality.GOOD).all()
    assert (during.quality == Quality.COMM_FAILURE).all()
    assert (after.values == 3.0).all() and (after.quality == Quality.GOOD).all()
    assert len(gaps) == 1 and gaps[0].end_s > gaps[0].start_s


def test_bad_values_are_flagged_never_good():
    tags = [{"name": f"t{i}", "quantity": "x", "valid_min": -10.0, "valid_max": 10.0, "modbus": {"address": 2 * i}}
            for i in range(5)]
    tags.append({"name": "counter", "quantity": "x", "dtype": "uint16", "valid_max": 1000, "modbus": {"address": 20}})
    m = tagmap_from_dict({"tags": tags})

    async def main():
        async with ModbusServer(m, port=0) as srv, ModbusClient(m, port=srv.port, max_gap=10) as client:
            clipped = srv.update(np.array([1.0, np.nan, np.inf, -np.inf, 11.0, 70000.0]))
            return clipped, await client.poll_once()

    clipped, block = run(main())
    assert clipped.tolist() == [5]  # uint16 70000 is served as 65535, and the server says so
    assert block.quality.tolist() == [Quality.GOOD] + [Quality.NOT_FINITE] * 3 + [Quality.OUT_OF_RANGE] * 2
    assert block.values[5] == 65535


def write_map():
    return tagmap_from_dict({"tags": [
        {"name": "speed", "quantity": "x", "modbus": {"address": 0}},
        {"name": "setpoint", "quantity": "x", "dtype": "int16", "scale": 0.1, "access": "read_write",
         "modbus": {"address": 2}},
        {"name": "limit", "quantity": "x", "access": "read_write", "modbus": {"address": 0, "register": "input"}}]})


def test_refused_and_allowed_writes():
    m = write_map()

    async def main():
        async with ModbusServer(m, port=0) as srv:
            srv.update(np.array([5.0, 1.0, 2.0]))
            async with ModbusClient(m, port=srv.port) as read_only:
                with pytest.raises(PermissionError, match="'setpoint'.*writes are not enabled"):
                    await read_only.write("setpoint", 2.0)
            async with ModbusClient(m, port=srv.port, writes_enabled=True) as c:
                with pytest.raises(PermissionError, match="'speed'.*access is 'read'.*'read_write'"):
                    await c.write("speed", 9.0)
                with pytest.raises(PermissionError, match="'limit'.*input register"):
                    await c.write("limit", 9.0)
                with pytest.raises(ValueError, match="does not fit"):
                    await c.write("setpoint", 1e6)
                before = await c.poll_once()
                await c.write("setpoint", 42.5)
                after = await c.poll_once()
            return before, after, srv.value("setpoint"), srv.writes_received

    before, after, served, writes = run(main())
    assert before.values.tolist() == [5.0, 1.0, 2.0]
    assert after.values.tolist() == [5.0, 42.5, 2.0] and served == 42.5 and writes == 1


def test_server_rejects_a_raw_write_to_a_read_only_tag():
    m = write_map()

    async def main():
        async with ModbusServer(m, port=0) as srv:
            srv.update(np.array([5.0, 1.0, 2.0]))
            raw = AsyncModbusTcpClient("127.0.0.1", port=srv.port, timeout=deadline(2.0), retries=0, reconnect_delay=0)
            await raw.connect()
            try:
                refused = await raw.write_registers(0, [0x4120, 0], device_id=1)  # 10.0 into "speed"
                straddling = await raw.write_registers(1, [0, 7], device_id=1)  # half of speed, half of setpoint
                allowed = await raw.write_registers(2, [7], device_id=1)
            finally:
                raw.close()
            return refused, straddling, allowed, srv.values()

    refused, straddling, allowed, served = run(main())
    assert refused.isError() and refused.exception_code == 2  # ILLEGAL_ADDRESS
    assert straddling.isError() and not allowed.isError()
    assert served.tolist() == [5.0, 7 * 0.1, 2.0]


def test_plan_reads_for_the_benchmark_map():
    m = small_map(12000)
    requests = plan_reads(m.tags)
    assert len(requests) == 194 and {r.count for r in requests[:-1]} == {124}  # 62 float32 tags per request
    assert sorted(i for r in requests for i in r.tags) == list(range(12000))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(DTYPES), st.sampled_from(("holding", "input")), st.integers(0, 40)),
                max_size=120), st.integers(0, 5), st.integers(4, 125))
def test_plan_reads_covers_every_tag_once_within_limits(layout, max_gap, max_count):
    tags, next_free = [], {"holding": 0, "input": 0}
    for i, (dtype, register, gap) in enumerate(layout):
        address = next_free[register] + gap
        next_free[register] = address + REGISTER_WIDTH[dtype]
        tags.append({"name": f"t{i}", "quantity": "x", "dtype": dtype, "modbus": {"address": address, "register": register}})
    tags.append({"name": "opc_only", "quantity": "x", "opcua": {"node_id": "ns=2;s=x"}})
    m = tagmap_from_dict({"tags": tags})
    requests = plan_reads(m.tags, max_gap=max_gap, max_count=max_count)
    assert sorted(i for r in requests for i in r.tags) == list(range(len(layout)))
    for r in requests:
        assert 1 <= r.count <= max_count
        spans = sorted((m.tags[i].modbus.address, m.tags[i].modbus.address + REGISTER_WIDTH[m.tags[i].dtype])
                       for i in r.tags)
        assert {m.tags[i].modbus.register for i in r.tags} == {r.register}
        assert spans[0][0] == r.address and spans[-1][1] == r.address + r.count
        assert all(b[0] - a[1] <= max_gap for a, b in zip(spans, spans[1:]))
    assert [r.register for r in requests] == sorted((r.register for r in requests), key=("holding", "input").index)


def test_plan_reads_rejects_bad_limits():
    with pytest.raises(ValueError, match="max_count 126"):
        plan_reads((), max_count=126)
    with pytest.raises(ValueError, match="max_gap -1"):
        plan_reads((), max_gap=-1)


def test_measure_one_poll_of_12000_float32_tags():
    m = small_map(12000)
    values = np.arange(12000.0) * 0.25

    async def main():
        async with ModbusServer(m, port=0) as srv:
            srv.update(values)
            for connections in (1, 4):
                async with ModbusClient(m, port=srv.port, connections=connections) as client:
                    times = []
                    for _ in range(5):
                        t = time.perf_counter()
                        block = await client.poll_once()
                        times.append(time.perf_counter() - t)
                    assert (block.quality == Quality.GOOD).all() and (block.values == values).all()
                    print(f"\none poll, 12,000 float32 tags, {len(client.requests)} requests, "
                          f"{connections} connection(s), server in the same process: "
                          f"median {np.median(times) * 1e3:.1f} ms, best {min(times) * 1e3:.1f} ms")

    run(main())
