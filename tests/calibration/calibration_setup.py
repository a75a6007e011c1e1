"""Shared set-up of the calibration tests."""

import contextlib
import dataclasses
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from pace import deadline

import simengine

TRUTH = {"thermal_tau_s": 1500.0, "thermal_resistance_K_per_W": 0.0062, "natural_frequency_hz": 1.47, "vibration_rms0": 0.33}
_SCALE = {"temperature_C": 30.0, "natural_frequency_hz": 1.47, "vibration_rms": 0.15, "load_factor": 0.45}


def one_percent_noise(count: int = 1, per_asset: int | None = None):
    """The crane scenario with every sensor's noise at 1 % of its signal and no constant bias
    (a bias is indistinguishable from the parameter it shifts: sensors are zeroed first).
    `per_asset` thins the sensors (fewer tags for the live protocols)."""
    sc = simengine.load_scenario("crane_fleet", {"fleet.count": count})
    sensors = [dataclasses.replace(s, noise_sd=0.01 * _SCALE[s.observes] * s.gain, bias_sd=0.0,
                                   quantisation=min(s.quantisation, 0.001 * _SCALE[s.observes] * s.gain),
                                   per_asset=per_asset or s.per_asset)
               for s in sc.fleet.sensors]
    return dataclasses.replace(sc, name="crane_1pct", fleet=dataclasses.replace(sc.fleet, sensors=tuple(sensors)))


def thinned(per_asset: int):
    """The crane scenario as it is, but `per_asset` sensors of each kind (fewer tags for a fast live link)."""
    sc = simengine.load_scenario("crane_fleet", {"fleet.count": 1})
    sensors = tuple(dataclasses.replace(s, per_asset=per_asset) for s in sc.fleet.sensors)
    return dataclasses.replace(sc, name="crane_thin", fleet=dataclasses.replace(sc.fleet, sensors=sensors))


def write_scenario(scenario, conf_root):
    """A conf tree at `conf_root` (a copy of simengine's) holding `scenario` as scenario/<name>.yaml,
    for a `simengine` subprocess run with SIMENGINE_CONF=conf_root."""
    import shutil

    from omegaconf import OmegaConf

    from simengine.api import conf_dir
    from simengine.config import to_dict

    shutil.copytree(conf_dir(), conf_root, dirs_exist_ok=True)
    path = conf_root / "scenario" / f"{scenario.name}.yaml"
    path.write_text("# @package _global_\n" + OmegaConf.to_yaml(OmegaConf.create(to_dict(scenario))))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(ports, proc, quiet_s=30.0) -> None:
    """Until `proc` listens on every port of `ports`; fails when it exits first, or after deadline(quiet_s)."""
    limit = deadline(quiet_s)
    end = time.monotonic() + limit
    pending = set(ports)
    while pending and time.monotonic() < end:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        for port in list(pending):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    pending.discard(port)
        time.sleep(0.1)
    assert not pending, f"the virtual PLC did not listen on {pending} within {limit:.0f} s"


@contextlib.contextmanager
def served_plc(scenario, conf_root, *overrides: str):
    """`simengine plc serve` of `scenario` in its own process, Modbus and OPC UA on free loopback ports,
    with more `serve.` overrides; yields {protocol: port} once both listen, and stops it after. Give it a
    `serve.duration_s` that outlasts its clients however slow the machine (a server that ends first is a
    link that drops: the calibration refuses it)."""
    write_scenario(scenario, conf_root)
    ports = {"modbus": free_port(), "opcua": free_port()}
    cmd = [sys.executable, "-m", "simengine", "plc", "serve", f"scenario={scenario.name}", "serve.protocols=[modbus,opcua]",
           f"serve.modbus_port={ports['modbus']}", f"serve.opcua_port={ports['opcua']}", *overrides]
    proc = subprocess.Popen(cmd, env={**os.environ, "SIMENGINE_CONF": str(conf_root)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(ports.values(), proc)
        yield ports
    finally:
        proc.terminate()
        proc.communicate(timeout=deadline(30))


def run_clients(cfgs, scenario) -> list:
    """`run_job` of each configuration at once, each in its own process, as two twins would be: neither
    stalls the other's polls."""
    from simengine.calibration.job import run_job

    with ProcessPoolExecutor(len(cfgs), mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(partial(run_job, config={}), cfgs, [scenario] * len(cfgs)))
