"""The tables committed under docs/results/ regenerate, byte for byte, from the committed files they were made from,
with the scripts their pages name: a hand edit of a table, or a script change that would give other numbers, fails
here instead of leaving a page that its own command no longer reproduces."""

import csv
import filecmp
import importlib.util
import subprocess
import sys

import pytest

from conftest import ROOT

RESULTS = ROOT / "docs" / "results"
SCRIPTS = ROOT / "scripts"

# (study folder, table script, the table's file prefix in that folder): every folder of `rm eval` results JSONs
SEED_TABLES = [
    ("text", "text_table.py", "text"),
    ("text/long", "text_table.py", "text_long"),
    ("text/minilm", "text_table.py", "text_minilm"),
    ("text/minilm/native", "text_table.py", "text_minilm_native"),
    ("text/minilm/wrong_rate_0.1", "text_table.py", "text_minilm_wr0.1"),
    ("text/minilm/wrong_rate_0.05", "text_table.py", "text_minilm_wr0.05"),
    ("image_editing", "image_editing_table.py", "image_editing"),
]


def _run(script, *args):
    return subprocess.run([sys.executable, str(SCRIPTS / script), *map(str, args)], capture_output=True, text=True)


def _same_files(made, committed):
    assert made.read_text() == committed.read_text(), f"{committed.relative_to(ROOT)} does not regenerate"


def test_every_folder_of_results_has_its_table_checked():
    folders = {path.parent.relative_to(RESULTS).as_posix() for path in RESULTS.rglob("results") if path.is_dir()}
    assert folders == {folder for folder, _, _ in SEED_TABLES}


@pytest.mark.parametrize("folder,script,prefix", SEED_TABLES)
def test_seed_table_regenerates(tmp_path, folder, script, prefix):
    proc = _run(script, RESULTS / folder, "--out", tmp_path / prefix)
    assert proc.returncode == 0, proc.stderr
    for suffix in (".md", ".csv"):
        _same_files(tmp_path / f"{prefix}{suffix}", RESULTS / folder / f"{prefix}{suffix}")


@pytest.mark.parametrize("table", sorted(RESULTS.glob("text/**/*by_steps.md")), ids=lambda p: p.name)
def test_by_steps_table_regenerates(tmp_path, table):
    proc = _run("text_by_steps.py", *sorted((table.parent / "results").glob("*.json")), "--out", tmp_path / table.name)
    assert proc.returncode == 0, proc.stderr
    _same_files(tmp_path / table.name, table)


def _paired_methods(table):
    """The two methods a paired table compares, read off its header: `| seed | both | A only | B only | ...`."""
    header = [cell.strip() for cell in table.read_text().splitlines()[0].strip("|").split("|")]
    return header[2].removesuffix(" only"), header[3].removesuffix(" only")


def _results_of(method, folder):
    """A method's results JSONs, from the paired table's own study folder, else its parent's, else a sibling's
    (a paired table may compare against the baseline of the study it builds on)."""
    for place in [folder, folder.parent, *sorted(folder.parent.iterdir())]:
        found = sorted((place / "results").glob(f"{method}_seed*.json"))
        if found:
            return found
    raise AssertionError(f"no results of {method} near {folder}")


@pytest.mark.parametrize("table", sorted(RESULTS.glob("text/**/*paired*.md")), ids=lambda p: p.name)
def test_paired_table_regenerates(tmp_path, table):
    joined = tmp_path / "results"
    joined.mkdir()
    for method in _paired_methods(table):
        for path in _results_of(method, table.parent):
            (joined / path.name).symlink_to(path)
    proc = _run("text_paired.py", joined, *_paired_methods(table), "--out", tmp_path / table.name)
    assert proc.returncode == 0, proc.stderr
    _same_files(tmp_path / table.name, table)


def _study_module():
    spec = importlib.util.spec_from_file_location("sudoku_solving_study", SCRIPTS / "sudoku_solving_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_sudoku_study_table_regenerates_from_its_csv(tmp_path, monkeypatch):
    """The study's `--from-csv` mode, on each committed study CSV: the same CSV and the same tables (the history
    ablation's tables have one line per level and history setting: `--by-history`)."""
    study = _study_module()
    tables = sorted(RESULTS.glob("sudoku_solving/study_*.md"))
    assert len(tables) > 20
    for table in tables:
        committed_csv = table.with_suffix(".csv")
        rows = list(csv.DictReader(committed_csv.open()))
        by_history = ", " in table.read_text().splitlines()[4].split("|")[1]  # first line of the first table
        out = tmp_path / committed_csv.name
        argv = ["sudoku_solving_study.py", "--from-csv", str(committed_csv), "--out", str(out)]
        monkeypatch.setattr(sys, "argv", argv + ["--by-history"] * by_history)
        study.main()
        assert list(csv.DictReader(out.open())) == rows, f"{committed_csv.name} does not round-trip"
        assert filecmp.cmp(out.with_suffix(".md"), table, shallow=False), f"{table.name} does not regenerate"
