"""The tables committed under docs/results/ regenerate, byte for byte, from the committed files they were made from,
with the scripts their pages name: a hand edit of a table, or a script change that would give other numbers, fails
here instead of leaving a page that its own command no longer reproduces. A last test keeps the list honest: every
table or CSV under docs/results/ is either rebuilt here or named as measured data (what a training or a decode wrote)."""

import csv
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, load_script, run_script

RESULTS = ROOT / "docs" / "results"

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
BY_STEPS = sorted(RESULTS.rglob("*_by_steps.md"))
PAIRED = sorted(RESULTS.rglob("*_paired*.md"))
STUDY_TABLES = sorted(RESULTS.glob("sudoku_solving/study_*.md"))
BEST_OF_VIEWS = sorted(RESULTS.glob("sudoku_solving/best_of_views_*.md"))
TEXT_SCALING = RESULTS / "text" / "text_scaling.csv"
ABLATION = RESULTS / "sudoku_revision" / "ablation_800_steps"

# what trainings and decodes wrote: the inputs of the tables above, not rebuilt from anything committed
MEASURED = ["**/metrics.csv",                         # a training run's log
            "sudoku_solving/study_*.csv",             # sudoku_solving_study.py's decodes (their .md is rebuilt)
            "sudoku_solving/best_of_views_*.csv",     # best_of_views.py's decodes (their .md is rebuilt)
            "sudoku_solving/scaling_*.csv",           # `rm eval scaling=true`
            "text/scaling/*.csv"]                     # `rm eval scaling=true`, joined into text_scaling.csv


def _same_files(made, committed):
    assert Path(made).read_text() == committed.read_text(), f"{committed.relative_to(ROOT)} does not regenerate"


def _name(path):
    return path.relative_to(RESULTS).as_posix()


def test_every_folder_of_results_has_its_table_checked():
    folders = {path.parent.relative_to(RESULTS).as_posix() for path in RESULTS.rglob("results") if path.is_dir()}
    assert folders == {folder for folder, _, _ in SEED_TABLES}


def test_every_committed_table_is_rebuilt_here_or_named_as_measured_data():
    rebuilt = {RESULTS / folder / f"{prefix}{suffix}" for folder, _, prefix in SEED_TABLES for suffix in (".md", ".csv")}
    rebuilt |= {*BY_STEPS, *PAIRED, *STUDY_TABLES, *BEST_OF_VIEWS, TEXT_SCALING, ABLATION / "sweep_summary.csv"}
    measured = {path for pattern in MEASURED for path in RESULTS.glob(pattern)}
    pages = set(RESULTS.glob("*.md"))
    tables = {path for suffix in ("*.md", "*.csv") for path in RESULTS.rglob(suffix)}
    assert sorted(map(_name, tables - rebuilt - measured - pages)) == []
    assert sorted(map(_name, rebuilt - tables)) == []  # a table listed here that is not committed
    assert STUDY_TABLES and BEST_OF_VIEWS and BY_STEPS and PAIRED


@pytest.mark.parametrize("folder,script,prefix", SEED_TABLES)
def test_seed_table_regenerates(tmp_path, folder, script, prefix):
    proc = run_script(script, RESULTS / folder, "--out", tmp_path / prefix)
    assert proc.returncode == 0, proc.stderr
    for suffix in (".md", ".csv"):
        _same_files(tmp_path / f"{prefix}{suffix}", RESULTS / folder / f"{prefix}{suffix}")


@pytest.mark.parametrize("table", BY_STEPS, ids=_name)
def test_by_steps_table_regenerates(tmp_path, table):
    proc = run_script("text_by_steps.py", *sorted((table.parent / "results").glob("*.json")), "--out", tmp_path / table.name)
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


@pytest.mark.parametrize("table", PAIRED, ids=_name)
def test_paired_table_regenerates(tmp_path, table):
    joined = tmp_path / "results"
    joined.mkdir()
    methods = _paired_methods(table)
    for method in methods:
        for path in _results_of(method, table.parent):
            (joined / path.name).symlink_to(path)
    proc = run_script("text_paired.py", joined, *methods, "--out", tmp_path / table.name)
    assert proc.returncode == 0, proc.stderr
    _same_files(tmp_path / table.name, table)


@pytest.mark.parametrize("table", STUDY_TABLES, ids=_name)
def test_sudoku_study_table_regenerates_from_its_csv(tmp_path, monkeypatch, table):
    """The study's `--from-csv` mode on the committed study CSV: the same CSV and the same tables (the history
    ablation's tables have one line per level and history setting: `--by-history`)."""
    committed_csv = table.with_suffix(".csv")
    by_history = ", " in table.read_text().splitlines()[4].split("|")[1]  # first line of the first table
    out = tmp_path / committed_csv.name
    argv = ["sudoku_solving_study.py", "--from-csv", str(committed_csv), "--out", str(out)]
    monkeypatch.setattr(sys, "argv", argv + ["--by-history"] * by_history)
    load_script("sudoku_solving_study").main()
    assert list(csv.DictReader(out.open())) == list(csv.DictReader(committed_csv.open()))
    _same_files(out.with_suffix(".md"), table)


@pytest.mark.parametrize("table", BEST_OF_VIEWS, ids=_name)
def test_best_of_views_table_regenerates_from_its_csv(table):
    rows = list(csv.DictReader(table.with_suffix(".csv").open()))
    assert load_script("best_of_views").table(rows) == table.read_text()


def test_text_scaling_join_regenerates(tmp_path):
    scaling = RESULTS / "text" / "scaling"
    proc = run_script("scaling_join.py", "--run", f"sft={scaling / 'sft_seed0.csv'}", "--run",
                f"rm_her={scaling / 'rm_her_seed0.csv'}", "--out", tmp_path / "text_scaling")
    assert proc.returncode == 0, proc.stderr
    _same_files(tmp_path / "text_scaling.csv", TEXT_SCALING)


def test_sudoku_revision_ablation_regenerates(tmp_path):
    """The sweep's summary CSV (rm_cli.sweep_summary, as the multirun callback writes it) and the ablation table
    that sudoku_revision.md quotes (scripts/sudoku_revision_report.py) from the runs' summary.json files."""
    from rm_cli.sweep_summary import write_summary

    sweep = shutil.copytree(ABLATION, tmp_path / ABLATION.name)
    (sweep / "sweep_summary.csv").unlink()
    write_summary(sweep)
    _same_files(sweep / "sweep_summary.csv", ABLATION / "sweep_summary.csv")
    proc = run_script("sudoku_revision_report.py", ABLATION)
    assert proc.returncode == 0, proc.stderr
    variant_rows = [line for line in proc.stdout.splitlines() if line.startswith("| RM") and "(`" in line]  # not the paper's
    assert len(variant_rows) == 4
    page = (RESULTS / "sudoku_revision.md").read_text().splitlines()
    assert [row for row in variant_rows if row not in page] == []
