"""`plc record` against a PLC that cannot be recorded: refused, silent, or decoded with the wrong word order.

Each fails fast with one message naming what is wrong, exit code 2, and no file.
"""

import time

import numpy as np
import pytest
import yaml
from live_plc import closed_port, served, silent_listener
from pace import deadline

import simengine
from simengine.cli import main
from simengine.config.validate import to_dict
from simengine.plc.plausibility import check_plausibility
from simengine.plc.readings import Quality, QualityAssessor
from simengine.plc.recorder import read_recording
from simengine.plc.tags import tagmap_from_dict
from simengine.virtual_plc import PhysicsSource

NOISE = ("0x", "send:", "recv:", "Traceback", "Repeating")  # pymodbus's hex dumps and retries, a traceback


@pytest.fixture(scope="module")
def source_factory():
    scenario = simengine.load_scenario("crane_fleet", {"fleet.count": 1})
    return lambda: PhysicsSource(scenario, [0], seed=3)


def record(capfd, *overrides):
    start = time.monotonic()
    code = main(["plc", "record", "fleet.count=1", *overrides])
    out, err = capfd.readouterr()
    return code, out, err, time.monotonic() - start


def assert_one_message(out, err):
    assert not any(noise in out + err for noise in NOISE), out + err
    assert err.startswith("simengine: ") and len(err.strip().splitlines()) <= 2, err


def test_refused_port_fails_fast_naming_host_and_port(tmp_path, capfd):
    port = closed_port()
    out_file = tmp_path / "rec.h5"
    code, out, err, took = record(capfd, f"record.port={port}", "record.duration_s=60", "record.first_reading_s=1",
                                  f"record.out={out_file}")
    assert code == 2 and f"modbus 127.0.0.1:{port}" in err and "refused" in err
    assert_one_message(out, err)
    assert not out_file.exists()
    # the first-reading deadline asked for, not the 60 s (the default deadline, 5 s: the silent listener's test)
    assert took < deadline(11.0)


def test_silent_listener_fails_fast_naming_host_and_port(tmp_path, capfd):
    out_file = tmp_path / "rec.h5"
    with silent_listener() as port:
        code, out, err, took = record(capfd, f"record.port={port}", "record.duration_s=60", f"record.out={out_file}")
    assert code == 2 and f"modbus 127.0.0.1:{port}" in err and "no reading within 5 s" in err
    assert_one_message(out, err)
    assert not out_file.exists()
    assert took < deadline(15.0)


def swapped_map_file(tagmap, path):
    data = to_dict(tagmap)
    for tag in data["tags"]:
        tag["modbus"]["word_order"] = "little"
    path.write_text(yaml.safe_dump(data))
    return path


def test_wrong_word_order_is_refused_with_one_message_suggesting_the_order(source_factory, tmp_path, capfd):
    source = source_factory()
    tagmap_file = swapped_map_file(source.tagmap(), tmp_path / "swapped.yaml")
    out_file = tmp_path / "rec.h5"
    with served(source) as servers:
        code, out, err, took = record(capfd, f"record.tagmap={tagmap_file}", f"record.port={servers[0].port}",
                                      "record.rate_hz=10", "record.duration_s=60", f"record.out={out_file}")
    assert code == 2 and "word_order: big" in err and "(now 'little')" in err, err
    assert_one_message(out, err)
    assert not out_file.exists()
    assert took < deadline(10.0)


def test_calibrate_refuses_a_wrong_word_order_in_its_own_terms(source_factory, tmp_path, capfd):
    """The same refusal reached through `simengine calibrate` names calibrate's fields, not plc record's."""
    tagmap_file = swapped_map_file(source_factory().tagmap(), tmp_path / "swapped.yaml")
    with served(source_factory()) as servers:
        code = main(["calibrate", "source=modbus", f"tagmap={tagmap_file}", f"port={servers[0].port}", "rate_hz=10",
                     "duration_s=60", "fleet.count=1", f"out_dir={tmp_path / 'out'}", "plots=false"])
    out, err = capfd.readouterr()
    assert code == 2 and "word_order: big" in err, err
    assert f"tagmap = '{tagmap_file}'" in err and "(plausibility=warn records anyway)" in err and "record." not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_wrong_word_order_recorded_on_request_is_flagged_and_warned(source_factory, tmp_path, capfd):
    source = source_factory()
    tagmap = source.tagmap()
    swapped = tagmap_from_dict(yaml.safe_load(swapped_map_file(tagmap, tmp_path / "swapped.yaml").read_text()))
    out_file = tmp_path / "rec.h5"
    with served(source) as servers:
        code, out, err, _ = record(capfd, f"record.tagmap={tmp_path / 'swapped.yaml'}", "record.plausibility=warn",
                                   f"record.port={servers[0].port}", "record.rate_hz=10", "record.duration_s=1",
                                   f"record.out={out_file}")
    assert code == 0 and err.count("word_order: big") == 1, err  # one warning, not one per poll
    rec = read_recording(out_file)
    report = check_plausibility(swapped, rec)  # the same verdict from the recording
    assert len(report.word_order_wrong) > 0.8 * len(tagmap.tags)
    assert "word_order: big" in report.message
    assert check_plausibility(tagmap, rec).ok is False  # the garbage is garbage whatever map reads it back


def test_right_word_order_is_plausible(source_factory):
    source = source_factory()
    values = np.stack([source.step(0.1) for _ in range(5)])
    report = check_plausibility(source.tagmap(), values)
    assert report.ok and report.message == "" and report.checked == len(source.tagmap().tags)


def test_denormal_floats_are_flagged_out_of_range_even_inside_the_valid_range():
    tagmap = tagmap_from_dict({"tags": [
        {"name": "f", "quantity": "natural_frequency_hz", "valid_min": 0, "valid_max": 1000, "modbus": {"address": 0}},
        {"name": "t", "quantity": "temperature_C", "dtype": "float64", "modbus": {"address": 2}},
        {"name": "n", "quantity": "count", "dtype": "int32", "valid_min": 0, "valid_max": 10, "modbus": {"address": 6}}]})
    q = QualityAssessor(tagmap).assess(0.0, np.arange(3), np.array([1.3e-41, 1e-310, 0.0]))
    assert q.tolist() == [Quality.OUT_OF_RANGE, Quality.OUT_OF_RANGE, Quality.GOOD]
    q = QualityAssessor(tagmap).assess(0.0, np.arange(3), np.array([1.47, 21.5, 3.0]))
    assert (q == Quality.GOOD).all()


def test_opcua_refused_fails_fast_naming_host_and_port(tmp_path, capfd):
    port = closed_port()
    out_file = tmp_path / "rec.h5"
    code, out, err, took = record(capfd, "record.protocol=opcua", f"record.port={port}", "record.duration_s=60",
                                  f"record.out={out_file}")
    assert code == 2 and f"opcua 127.0.0.1:{port}" in err and "refused" in err, err
    assert_one_message(out, err)
    assert not out_file.exists()
    assert took < deadline(15.0)


def test_opcua_silent_listener_fails_fast_naming_host_and_port(tmp_path, capfd):
    out_file = tmp_path / "rec.h5"
    with silent_listener() as port:
        code, out, err, took = record(capfd, "record.protocol=opcua", f"record.port={port}", "record.duration_s=60",
                                      "record.first_reading_s=2", f"record.out={out_file}")
    assert code == 2 and f"opcua 127.0.0.1:{port}" in err and "no reading within 2 s" in err, err
    assert_one_message(out, err)
    assert not out_file.exists()
    assert took < deadline(10.0)


def test_a_plc_that_answers_every_read_with_an_exception_says_so(source_factory, tmp_path, capfd):
    source = source_factory()
    data = to_dict(source.tagmap())
    data["endpoint"]["device_id"] = 7  # the virtual PLC is device 1: every read gets an exception response
    tagmap_file = tmp_path / "device7.yaml"
    tagmap_file.write_text(yaml.safe_dump(data))
    out_file = tmp_path / "rec.h5"
    with served(source) as servers:
        code, out, err, took = record(capfd, f"record.tagmap={tagmap_file}", f"record.port={servers[0].port}",
                                      "record.duration_s=60", "record.first_reading_s=1", f"record.out={out_file}")
    assert code == 2 and f"127.0.0.1:{servers[0].port}: answers, but gave no reading within 1 s: exception response" in err, err
    assert_one_message(out, err)
    assert not out_file.exists() and took < deadline(10.0)


def test_an_opcua_link_that_drops_is_reported_without_asyncua_tracebacks(source_factory, tmp_path, capfd, caplog):
    """The PLC stops mid-recording: our client says the link was lost, once; asyncua's own
    'Publish iteration crashed' traceback and its closing warnings are not shown."""
    port = closed_port()
    out_file = tmp_path / "rec.h5"
    with served(source_factory(), protocols=["opcua"], opcua_port=port, duration_s=3.0):
        code, out, err, _ = record(capfd, "record.protocol=opcua", f"record.port={port}", "record.duration_s=8",
                                   f"record.out={out_file}")
    assert code == 0, err
    assert "Traceback" not in err and "Publish iteration crashed" not in err, err
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("simengine")]
    assert any("lost" in message for message in ours), ours
    assert [r.getMessage() for r in caplog.records if r.name.startswith("asyncua")] == []
    assert len(read_recording(out_file).gaps) >= 1
