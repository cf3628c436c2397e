"""Output files and folders appear whole or not at all, and only where a file belongs (rm_cli/io.py)."""

import os
import stat

import pytest

from rm_cli.errors import UserError
from rm_cli.io import atomic_write_bytes, atomic_write_dir, atomic_write_text, check_writable


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


def test_file_lines_are_numbered_as_grep_n_numbers_them():
    from rm_cli.io import file_lines

    text = "a\r\nb\x0cstill b\nc \u2028 still c\n\x85\nd"
    assert file_lines(text) == ["a", "b\x0cstill b", "c \u2028 still c", "\x85", "d"]


def test_a_prompt_line_holding_a_line_separator_is_one_prompt_with_the_right_numbers(tmp_path):
    import json

    from rm_cli.tasks.text.files import read_prompts

    path = tmp_path / "p.jsonl"  # what write_jsonl (ensure_ascii=False) writes for a prompt holding U+2028
    path.write_text(json.dumps({"prompt": "one\u2028two"}, ensure_ascii=False) + "\n" + json.dumps({"prompt": "x"}) + "\n")
    assert [(r.line, r.prompt) for r in read_prompts(path)] == [(1, "one\u2028two"), (2, "x")]
    plain = tmp_path / "p.txt"
    plain.write_text("What is 1+1?\x85 Think.\nsecond\n")
    assert [(r.line, r.prompt) for r in read_prompts(plain)] == [(1, "What is 1+1?\x85 Think."), (2, "second")]


def test_a_sudoku_board_error_names_the_line_grep_n_gives_past_a_form_feed(tmp_path):
    from rm_cli.tasks.sudoku.boards import read_boards

    path = tmp_path / "boards.txt"
    path.write_text("." * 81 + "\n\x0c\n" + "1" * 80 + "\n")
    with pytest.raises(UserError, match=r"boards.txt:3: "):
        read_boards(path, need_solution=False)


def test_a_pipe_or_device_at_the_output_path_is_refused_not_replaced(tmp_path):
    """The rename replaced whatever sat there: as root, `output=/dev/null` turned /dev/null into a file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="output is not a regular file"):
        atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symlinked_output_replaces_the_file_it_points_at_and_keeps_the_link(tmp_path):
    (tmp_path / "real.json").write_text("old")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    atomic_write_text(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").is_symlink() and (tmp_path / "real.json").read_text() == "new"


def test_a_failed_write_is_one_line_and_leaves_the_old_file(tmp_path):
    import errno

    target = tmp_path / "out.json"
    target.write_text("old")

    def full_disk(f):
        f.write(b"partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(UserError, match="out.json: cannot write: No space left on device"):
        atomic_write_bytes(target, full_disk)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_an_output_ending_in_a_slash_is_refused(tmp_path):
    with pytest.raises(UserError, match="output names a folder"):
        check_writable(f"{tmp_path}/new/")


def test_a_folder_write_that_fails_midway_is_one_line_and_leaves_nothing(tmp_path):
    import errno

    def full_disk(folder):
        (folder / "a.txt").write_text("a")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(UserError, match="out: cannot write: No space left on device"):
        atomic_write_dir(tmp_path / "out", full_disk)
    assert list(tmp_path.iterdir()) == []


def test_a_byte_order_mark_is_read_past_in_every_prompt_and_record_file(tmp_path):
    """Sudoku board files already read past a BOM; text prompt files refused it (not valid JSON / a character
    not in the vocabulary) and image prompt files called it malformed JSON."""
    from rm_cli.io import jsonl_records
    from rm_cli.tasks.text.files import read_prompts

    bom = "\ufeff"
    for name, text in (("p.txt", "What is 2 + 3?\nAnd 4 * 5?\n"), ("p.jsonl", '{"prompt": "2 + 3?", "answer": "5"}\n')):
        plain, marked = tmp_path / f"plain_{name}", tmp_path / f"bom_{name}"
        plain.write_text(text, encoding="utf-8")
        marked.write_text(bom + text, encoding="utf-8")
        assert read_prompts(marked) == read_prompts(plain) and read_prompts(marked)[0].prompt[0] != bom
    records = tmp_path / "r.jsonl"
    records.write_text(bom + '{"image": "a.png", "instruction": "x"}\n\n{"image": "b.png"}\n', encoding="utf-8")
    assert list(jsonl_records(records, "prompt file")) == [(1, {"image": "a.png", "instruction": "x"}), (3, {"image": "b.png"})]


def test_an_empty_output_and_a_file_where_a_folder_goes_say_so(tmp_path):
    """output= (empty) read as '.', a directory: 'output is a directory'; rm export out=FILE said the file 'is not
    an empty directory'."""
    from rm_cli.io import check_new_dir

    with pytest.raises(UserError, match=r"^output= is empty; give a file path or leave output out$"):
        check_writable("")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UserError, match="is a file; give a folder that does not exist yet"):
        check_new_dir(tmp_path / "afile")
