"""`simengine plc serve|record` mistakes: one message naming field, value and rule, exit 2, no traceback, no file."""

import socket

import pytest

from simengine.cli import main

NOISE = ("Traceback", "0x", "send:")


def run(capfd, *argv):
    code = main(["plc", *argv])
    out, err = capfd.readouterr()
    assert not any(noise in out + err for noise in NOISE), out + err
    return code, err


@pytest.mark.parametrize("text, says", [
    ("tags: [\n  - {name: a\n", "is not valid YAML: expected the node content, but found '-' (line 2, column 3)"),
    ("", "is empty or not a mapping"),
    ("- a\n- b\n", "is empty or not a mapping"),
    ("name: x\ntags: []\n", "tags = []: a tag map needs at least one tag"),
    ("tags:\n  - {name: a, quantity: x, modbus: {address: 0}}\n  - {name: a, quantity: x, modbus: {address: 1}}\n",
     "duplicate; also tags[0]"),
    ("tags:\n  - {name: a, quantity: x, modbus: {address: 0}}\n  - {name: b, quantity: x, modbus: {address: 1}}\n",
     "holding register 1 is also used by tags[0] (a)"),
    ("tags:\n  - {name: a, quantity: x, scale: 0, modbus: {address: 0}}\n", "must be finite and non-zero"),
    ("tags:\n  - {name: a, quantity: x, offset: .inf, modbus: {address: 0}}\n", "offset = inf: must be finite"),
    ("tags:\n  - {name: a, quantity: x, opcua: {node_id: 'ns=2;s=a'}}\n", "has no tag with a modbus address"),
])
def test_bad_tag_map_is_one_message_and_no_file(tmp_path, capfd, text, says):
    tagmap, out_file = tmp_path / "map.yaml", tmp_path / "rec.h5"
    tagmap.write_text(text)
    code, err = run(capfd, "record", f"record.tagmap={tagmap}", "record.port=1", "record.duration_s=1",
                    f"record.out={out_file}")
    assert code == 2 and err.startswith("simengine: ") and says in err, err
    assert not out_file.exists() and list(tmp_path.iterdir()) == [tagmap]


@pytest.mark.parametrize("overrides, says", [
    (["serve.assets=[]"], "serve.assets = []: must name at least one asset"),
    (["serve.assets=[0,0]"], "must name each asset once"),
    (["fleet.count=2", "serve.assets=[0,5]"], "[5] beyond the fleet: scenario 'crane_fleet' has assets 0..1"),
    (["serve.true_params.thermal_tau_s=-5"], "serve.true_params.thermal_tau_s = -5.0: must be > 0 (a time constant, s)"),
    (["serve.true_params.thermal_resistance_K_per_W=0"], "must be > 0 (a thermal resistance, K/W)"),
    (["serve.true_params.natural_frequency_hz=-1.5"], "must be > 0 (a frequency, Hz)"),
    (["serve.true_params.stiffness_sensitivity=1.5"], "must lie in [0, 0.95]"),
    (["serve.true_params.wear_reference_C=-300"], "must be >= -273.15"),
    (["serve.true_params.thermal_tau=1500"], "unknown parameter; known: paris_C"),
    (["serve.true_params.thermal_tau=1500"], "did you mean 'thermal_tau_s'?"),
    (["serve.initial_crack_m=0.05"], "serve.initial_crack_m = 0.05: must be below the critical crack"),
    (["serve.faults=[{at_s: 5, kind: restart}]"], "serve.faults[0].at_s = 5.0: must be before the end of serving"),
    (["serve.faults=[{at_s: 0.2, kind: drop, duration_s: 0.5}]"], "serve.faults[0].duration_s = 0.5: no update falls inside it"),
    (["serve.faults=[{at_s: 0.5, kind: drop, duration_s: 0}]"], "serve.faults[0].duration_s = 0: must be > 0"),
    (["serve.faults=[{at_s: 0, kind: restart, tags: [x]}]"], "tags apply to nan and out_of_range faults only"),
    (["serve.initial_crack_m=0.01", "serve.true_params.section_depth_m=0.008"], "0.008 m (the section depth)"),
])
def test_bad_serve_settings_are_one_message(tmp_path, capfd, overrides, says):
    code, err = run(capfd, "serve", "serve.duration_s=1", "serve.modbus_port=0", "serve.opcua_port=0", *overrides)
    assert code == 2 and err.startswith("simengine: ") and says in err, err


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
def test_serve_on_a_port_in_use_is_one_message(capfd, protocol):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = run(capfd, "serve", f"serve.protocols=[{protocol}]", f"serve.{protocol}_port={port}",
                        "serve.duration_s=1")
    assert code == 2 and f"serve.{protocol}_port = {port}: cannot listen on 127.0.0.1:{port}: already in use" in err, err


def test_a_recording_too_short_for_one_poll_is_refused(tmp_path, capfd):
    code, err = run(capfd, "record", "record.rate_hz=1", "record.duration_s=0.2", f"record.out={tmp_path / 'r.h5'}")
    assert code == 2 and "record.duration_s = 0.2: gives no poll at rate_hz = 1.0" in err, err
    assert list(tmp_path.iterdir()) == []
