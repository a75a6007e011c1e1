"""A staging folder left by a signal that lands before its `with` is entered is removed all the same."""

import pytest

from simengine.results.publish import RESUMABLE, StagedFolder, Terminated, signals_end_run


def test_a_signal_between_making_and_entering_leaves_nothing(tmp_path):
    out_dir = tmp_path / "new" / "results"
    with pytest.raises(Terminated), signals_end_run():
        staged = StagedFolder(out_dir, "run-1")
        assert staged.staging.is_dir()
        raise Terminated()  # where SIGTERM's handler would raise, before `with staged:`
    assert not (tmp_path / "new").exists()


def test_a_resumable_folder_so_left_is_kept_for_resume(tmp_path):
    out_dir = tmp_path / "results"
    out_dir.mkdir()
    with pytest.raises(KeyboardInterrupt), signals_end_run():
        staged = StagedFolder(out_dir, "run-1")
        (staged.staging / RESUMABLE).write_text("{}")
        raise KeyboardInterrupt
    assert (staged.staging / RESUMABLE).exists()


def test_an_entered_and_published_folder_is_untouched(tmp_path):
    with signals_end_run():
        with StagedFolder(tmp_path, "run-1") as staged:
            (staged.staging / "a.txt").write_text("a")
            final = staged.publish()
    assert (final / "a.txt").read_text() == "a"
