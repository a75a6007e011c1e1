"""PLC ingest benchmarks: 12,000 float32 tags at 1 Hz from the virtual PLC on loopback.

The virtual PLC (100 cranes × 120 sensors) runs as its own process
(`simengine plc serve`); this process records every tag at 1 Hz into a
crash-safe HDF5 recording, as `simengine plc record` does. Reported: values
expected vs recorded (and flagged), the recorder's CPU share (its process CPU
time over wall time), and latency from a poll's slot to its block in hand.
"""

from __future__ import annotations

import asyncio
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from simengine.bench.harness import BenchResult

CRANES = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(protocol: str, port: int, duration_s: float, cranes: int) -> subprocess.Popen:
    assets = "[" + ",".join(map(str, range(cranes))) + "]"
    port_key = "serve.modbus_port" if protocol == "modbus" else "serve.opcua_port"
    cmd = [sys.executable, "-m", "simengine", "plc", "serve", f"fleet.count={cranes}", f"serve.assets={assets}",
           f"serve.protocols=[{protocol}]", f"{port_key}={port}", f"serve.duration_s={duration_s}"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_listening(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the virtual PLC did not listen on 127.0.0.1:{port} within {timeout_s} s")


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_modbus(duration_s: float = 60.0, cranes: int = CRANES) -> BenchResult:
    import simengine
    from simengine.plc.modbus_client import ModbusClient
    from simengine.plc.readings import Quality
    from simengine.plc.recorder import Recorder, read_recording
    from simengine.virtual_plc import PhysicsSource

    tagmap = PhysicsSource(simengine.load_scenario("crane_fleet", {"fleet.count": cranes}), list(range(cranes))).tagmap()
    port = _free_port()
    server = _server("modbus", port, duration_s + 60.0, cranes)
    latencies: list[float] = []
    path = Path(tempfile.mkdtemp()) / "modbus_ingest.h5"
    try:
        _wait_listening(port)

        async def record():
            with Recorder(path, tagmap, flush_interval_s=1.0, source="bench") as rec:
                async with ModbusClient(tagmap, port=port) as client:
                    def sink(block):
                        latencies.append(time.time() - block.t_s)
                        rec.append(block)
                    wall0, cpu0 = time.monotonic(), _cpu_s()
                    slots = await client.run(1.0, duration_s, sink=sink)
                    return slots, time.monotonic() - wall0, _cpu_s() - cpu0, len(client.gaps), client.requests

        slots, wall, cpu, gaps, requests = asyncio.run(record())
    finally:
        server.terminate()
        server.wait(timeout=30)
    r = read_recording(path)
    expected = slots * len(tagmap.tags)
    good = int((r.quality == 0).sum())
    lost = int((r.quality == Quality.COMM_FAILURE).sum()) + int((r.quality == Quality.DROPPED).sum())
    not_finite = int((r.quality == Quality.NOT_FINITE).sum())
    lat = np.array(latencies) * 1e3
    path.unlink(missing_ok=True)
    return BenchResult(
        name="modbus_ingest", goal="12,000 float32 tags at 1 Hz, none lost",
        figures={"tags": float(len(tagmap.tags)), "duration_s": duration_s, "requests_per_poll": float(len(requests)),
                 "values_expected (poll slots x tags)": float(expected), "values_recorded": float(r.values.size),
                 "values_good": float(good), "values_lost": float(lost + expected - r.values.size),
                 "values_nan_by_sensor_dropout (simulated, flagged)": float(not_finite), "gaps": float(gaps),
                 "recorder_cpu_share": cpu / wall, "latency_p50_ms": float(np.percentile(lat, 50)),
                 "latency_p99_ms": float(np.percentile(lat, 99)), "latency_max_ms": float(lat.max())},
        notes="server: `simengine plc serve` in its own process on 127.0.0.1; client+recorder in this process",
    )


def run_opcua(duration_s: float = 60.0, cranes: int = CRANES, connections: int = 2) -> BenchResult:
    import simengine
    from simengine.plc.opcua_client import OpcUaClient, OpcUaClientConfig
    from simengine.virtual_plc import PhysicsSource

    tagmap = PhysicsSource(simengine.load_scenario("crane_fleet", {"fleet.count": cranes}), list(range(cranes))).tagmap()
    port = _free_port()
    server = _server("opcua", port, duration_s + 120.0, cranes)
    from simengine.plc.readings import Quality
    from simengine.plc.recorder import Recorder, read_recording

    counts = {"values": 0, "blocks": 0, "placeholders": 0}
    state = {"counting": False}
    path = Path(tempfile.mkdtemp()) / "opcua_ingest.h5"
    placeholder = (Quality.COMM_FAILURE, Quality.DROPPED)

    def on_block(block):
        rec.append(block)
        if state["counting"]:
            real = ~np.isin(block.quality, placeholder)  # a notification, not a stand-in for a lost one
            counts["values"] += int(real.sum())
            counts["placeholders"] += int((~real).sum())
            counts["blocks"] += 1

    config = OpcUaClientConfig(url=f"opc.tcp://127.0.0.1:{port}/simengine/", connections=connections,
                               tags_per_subscription=2000)
    try:
        _wait_listening(port, timeout_s=120.0)

        rec = Recorder(path, tagmap, flush_interval_s=1.0, source="bench", reorder_s=2.0)

        async def subscribe():
            client = OpcUaClient(tagmap, config, on_block=on_block)
            await client.start()
            await asyncio.sleep(5.0)  # subscriptions created, first values in
            state["counting"] = True
            wall0, cpu0 = time.monotonic(), _cpu_s()
            await asyncio.sleep(duration_s)
            state["counting"] = False
            wall, cpu = time.monotonic() - wall0, _cpu_s() - cpu0
            await client.stop()
            return wall, cpu, client.drops, client.lost_messages, len(client.gaps)

        wall, cpu, drops, lost, gaps = asyncio.run(subscribe())
        rec.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    r = read_recording(path)
    complete_rows = int((r.quality != 255).all(axis=1).sum())
    path.unlink(missing_ok=True)
    expected = len(tagmap.tags) * wall  # every tag updates once a second
    return BenchResult(
        name="opcua_ingest", goal="12,000 tags at 1 Hz through sharded subscriptions, none lost",
        figures={"tags": float(len(tagmap.tags)), "duration_s": wall, "connections": float(connections),
                 "subscriptions": float(-(-len(tagmap.tags) // 2000)),
                 "values_delivered": float(counts["values"]), "values_expected (tags x seconds)": expected,
                 "delivered_over_expected": counts["values"] / expected, "drops_flagged": float(drops),
                 "lost_messages": float(lost), "placeholder_values (lost link or dropped)": float(counts["placeholders"]),
                 "gaps": float(gaps), "recorded_rows": float(r.time_s.size), "recorded_rows_complete": float(complete_rows),
                 "client_cpu_share (subscriptions + recorder)": cpu / wall},
        notes="server: `simengine plc serve` in its own process; delivered/expected differs from 1 by the "
              "updates cut at the window's edges; rows: one per server update, merged across subscriptions",
    )


def run(repeats: int = 1, quick: bool = False, soak: bool = False) -> BenchResult:
    duration = 600.0 if soak else (15.0 if quick else 60.0)
    return run_modbus(duration, 20 if quick else CRANES)


def run_opcua_bench(repeats: int = 1, quick: bool = False, soak: bool = False) -> BenchResult:
    duration = 600.0 if soak else (15.0 if quick else 60.0)
    return run_opcua(duration, 20 if quick else CRANES)
