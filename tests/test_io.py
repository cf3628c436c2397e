"""Output folders appear whole or not at all (rm_cli/io.py's atomic_write_dir)."""

import pytest

from rm_cli.errors import UserError
from rm_cli.io import atomic_write_dir


def _fill(folder):
    (folder / "a.txt").write_text("a")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.txt").write_text("b")


def test_a_folder_appears_whole_with_shareable_modes(tmp_path):
    atomic_write_dir(tmp_path / "out", _fill)
    assert (tmp_path / "out" / "sub" / "b.txt").read_text() == "b"
    assert (tmp_path / "out" / "a.txt").stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left


def test_a_failed_fill_leaves_nothing(tmp_path):
    def broken(folder):
        _fill(folder)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write_dir(tmp_path / "out", broken)
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_folder_of_a_killed_write_goes_at_the_next_write(tmp_path):
    stale = tmp_path / ".out.k3j2x.tmp"  # what a SIGKILLed write of out/ leaves
    stale.mkdir()
    (stale / "half.bin").write_bytes(b"\0" * 10)
    (tmp_path / ".other.abc.tmp").mkdir()  # another target's: not ours to remove
    atomic_write_dir(tmp_path / "out", _fill)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.abc.tmp", "out"]


def test_an_existing_non_empty_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("x")
    with pytest.raises(UserError):
        atomic_write_dir(tmp_path / "out", _fill)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["x"]
