"""`simengine fatigue` refuses physically impossible inputs: one message with field, value and rule, exit 2."""

import pytest

from simengine.cli import main


@pytest.mark.parametrize("override, expected", [
    ("material.paris_m.mean=50", "material.paris_m.mean = 50.0: must be in (1, 10]"),
    ("material.paris_m.mean=1", "material.paris_m.mean = 1.0: must be in (1, 10]"),
    ("material.paris_m.sd=0.6", "material.paris_m.sd = 0.6: mean ± 4 sd"),
    ("material.paris_C.median=0", "material.paris_C.median = 0.0: must be > 0"),
    ("material.initial_flaw_m.median=0", "material.initial_flaw_m.median = 0.0: must be > 0"),
    ("material.initial_flaw_m.median=0.03", "material.initial_flaw_m.median = 0.03: must be < critical_m"),
    ("material.geometry.Y=50", "material.geometry.Y = 50: must be <= 10"),
    ("load.scale.median=0", "load.scale.median = 0.0: must be > 0"),
    ("load.hdf5.duty_fraction=0", "load.hdf5.duty_fraction = 0: must be > 0"),
    ("load.hdf5.duty_fraction=1.5", "load.hdf5.duty_fraction = 1.5: must be <= 1"),
    ("load.hdf5.youngs_modulus_MPa=210", "load.hdf5.youngs_modulus_MPa = 210: must be >= 1000"),
    ("name=../elsewhere", "name = '../elsewhere': must be letters, digits"),
])
def test_impossible_input_is_one_message_and_exit_2(override, expected, tmp_path, capsys):
    code = main(["fatigue", override, "replicas=10", f"out_dir={tmp_path / 'out'}"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "1 problem" in err and expected in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()
