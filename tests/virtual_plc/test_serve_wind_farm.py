"""A wind farm served by `simengine plc serve` in its own process, read back over Modbus with the PLC client.

The virtual PLC is built on the asset kinds, so a turbine is served as a crane is: what comes over the
wire is, scan for scan, what the simulator computes for the same scenario and seed in this process."""

import asyncio
import socket
import subprocess
import sys

import numpy as np
from pace import deadline, wait_until

import simengine
from simengine.plc.modbus_client import ModbusClient
from simengine.plc.readings import Quality
from simengine.virtual_plc import PhysicsSource

RATE_HZ = 5.0  # scans per wall second, each 1/RATE_HZ simulated seconds (time factor 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def distinct_scans(tagmap, port: int, n: int) -> list[np.ndarray]:
    """The values of `n` different scans (told apart by the PLC's clock, the last tag), as the client reads them."""
    scans: dict[float, np.ndarray] = {}
    end = asyncio.get_running_loop().time() + deadline(30.0)
    async with ModbusClient(tagmap, port=port) as client:
        while len(scans) < n:
            assert asyncio.get_running_loop().time() < end, f"only {len(scans)} scans read"
            block = await client.poll_once()
            if block.values.size == len(tagmap.tags) and block.quality[-1] == Quality.GOOD and block.values[-1] > 0:
                scans.setdefault(float(block.values[-1]), block.values.copy())
            await asyncio.sleep(0.5 / RATE_HZ)
    return [scans[t] for t in sorted(scans)]


def test_a_wind_farm_is_served_over_modbus_and_reads_back_as_simulated():
    scenario = simengine.load_scenario("wind_farm", {"fleet.count": 2})
    expected = PhysicsSource(scenario, [0, 1], seed=4)
    tagmap = expected.tagmap()
    assert {t.quantity for t in tagmap.tags} == {"vibration_rms", "temperature_C", "load_factor", "clock_s"}
    assert len(tagmap.tags) == 2 * 24 + 1  # 24 sensors a turbine, no counter (the kind declares none), the clock
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "simengine", "plc", "serve", "scenario=wind_farm", "fleet.count=2",
                              "serve.assets=[0,1]", "serve.seed=4", "serve.protocols=[modbus]",
                              f"serve.modbus_port={port}", f"serve.rate_hz={RATE_HZ:g}", "serve.duration_s=600"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: listening(port) or serve.poll() is not None, 60, what="the virtual PLC to listen")
        assert serve.poll() is None, serve.communicate()[1][-2000:]
        scans = asyncio.run(distinct_scans(tagmap, port, 3))
    finally:
        serve.terminate()
        out, err = serve.communicate(timeout=deadline(30))
    assert "serving 49 tags of assets [0, 1]" in out, err[-2000:]
    # step the same simulator to each scan read: its clock, then every value as float32 carries it
    simulated = {}
    while expected.t_s < float(scans[-1][-1]):
        row = expected.step(1.0 / RATE_HZ)
        simulated[float(row[-1])] = row
    for values in scans:
        assert float(values[-1]) in simulated, f"a clock of {values[-1]} s is no scan of the simulator"
        want = simulated[float(values[-1])]
        np.testing.assert_array_equal(values[:-1], want[:-1].astype(np.float32).astype(float))
    power = np.concatenate([v[:-1][[t.quantity == "load_factor" for t in tagmap.tags[:-1]]] for v in scans])
    assert np.nanmax(power) > 1.0  # the tower load gauges see the turbines producing (gain 100 per rated power)
