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
from pathlib import Path

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


def first_rows(recording, n: int):
    """The recording's first n rows (its readings, their times and qualities)."""
    return dataclasses.replace(recording, time_s=recording.time_s[:n], values=recording.values[:n],
                               quality=recording.quality[:n])


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


def warm_twin() -> None:
    """A twin process's start: simengine's calibration imported and the jitted parts whose shapes do not
    depend on the readings (the crack filter's steps, the remaining life of 2000 samples) compiled, by a
    three-day continuous run of the embedded virtual PLC, so that no client compiles them while it polls."""
    import tempfile

    from simengine.calibration.job import run_job
    from simengine.config import build
    from simengine.config.calibrate import CalibrateConfig

    with tempfile.TemporaryDirectory() as out:
        cfg = build(CalibrateConfig, {
            "rate_hz": 1 / 3600.0, "duration_s": 3 * 86400.0, "plots": False, "out_dir": out,
            "fit": {"parameters": ["vibration_rms0"]},
            "continuous": {"enabled": True, "window_s": 2 * 86400.0, "refit_every_s": 86400.0, "feature_s": 3600.0}})
        run_job(cfg, thinned(per_asset=4), config={})


TWINS = 2  # twin processes: one per live protocol client, one per core of the 2-core machines the suite runs on


def twin_processes(count: int = TWINS) -> ProcessPoolExecutor:
    """`count` spawned processes, each started by `warm_twin`; they start now, while the caller goes on
    (serving the PLC, say), and `run_clients` waits for them."""
    pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"), initializer=warm_twin)
    for _ in range(count):  # a spawn pool starts a process per task it cannot give to an idle one
        pool.submit(int)
    return pool


def run_clients(cfgs, scenario, twins: ProcessPoolExecutor) -> list:
    """`run_job` of each configuration at once, each in its own process of `twins`, as two twins would be:
    neither stalls the other's polls."""
    from simengine.calibration.job import run_job

    assert len(cfgs) <= TWINS, "each client needs a process of its own"
    return list(twins.map(partial(run_job, config={}), cfgs, [scenario] * len(cfgs)))


def recorded_then_tracked(cfg, scenario):
    """`run_job` of a virtual-source `cfg` from its recording: the embedded virtual PLC recorded first
    (`record_virtual`), then the recording tracked (source=hdf5). The same rows in the same order as when
    they stream in (the crack track and remaining life come out bit for bit the same), at half the cost:
    streaming flushes the recording row by row (test_continuous tracks as they stream)."""
    from simengine.calibration.collect import virtual_source
    from simengine.calibration.job import run_job
    from simengine.calibration.sources import record_virtual

    path = Path(cfg.out_dir) / "virtual.h5"
    record_virtual(virtual_source(cfg, scenario), path, duration_s=cfg.duration_s, rate_hz=cfg.rate_hz)
    return run_job(dataclasses.replace(cfg, source="hdf5", hdf5=str(path)), scenario, config={})


def run_jobs(cfgs, scenario, twins: ProcessPoolExecutor, job=recorded_then_tracked) -> list:
    """`job(cfg, scenario)` of every configuration, spread over the processes of `twins` (in order of `cfgs`)."""
    return list(twins.map(job, cfgs, [scenario] * len(cfgs)))
