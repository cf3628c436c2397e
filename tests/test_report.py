"""The commands' printed tables and numbers: the eval table's title on one line, the results JSON of Sudoku
without float32 noise and the table printing the JSON's own digits, the image token map's separator."""

import json

import pytest
import torch

from conftest import TINY, run_cli
from rm_cli.report import print_table

TITLE = "rm eval: sudoku (rm sampler, history her)"


def test_the_table_title_is_one_line_when_piped(capsys, monkeypatch):
    """Piped (80 columns), rich wrapped the title to the narrow table's width: 'rm eval: sudoku (rm sampler, history'
    / 'her)'."""
    monkeypatch.setenv("COLUMNS", "80")
    print_table(TITLE, [("exact_pct", 95.0), ("n", 20)])
    lines = capsys.readouterr().out.splitlines()
    assert TITLE in [line.strip() for line in lines]
    assert not any(line.strip() == "her)" for line in lines)


def test_the_table_prints_a_rounded_metric_with_the_digits_it_has(capsys, monkeypatch):
    """The image results JSON holds success_pct 6.67 (2 of 30); the table printed 6.670."""
    monkeypatch.setenv("COLUMNS", "80")
    print_table(TITLE, [("success_pct", 6.67), ("exact_pct", 94.9999988079071), ("delta", 0.1234), ("n", 30),
                        ("cell_acc_blanks_pct", None)], places=4)
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in capsys.readouterr().out.splitlines()
            if line.count("│") == 3}
    assert rows == {"success_pct": "6.67", "exact_pct": "95.0", "delta": "0.1234", "n": "30", "cell_acc_blanks_pct": "n/a"}


def test_round_metrics_rounds_floats_and_keeps_counts():
    from rm_cli.report import round_metrics

    m = round_metrics({"exact_pct": 94.9999988079071, "n": 7, "ok": True, "none": None, "by_level": {"easy": 1 / 3},
                       "list": [2 / 3, 4]})
    assert m == {"exact_pct": 95.0, "n": 7, "ok": True, "none": None, "by_level": {"easy": 0.3333}, "list": [0.6667, 4]}


def test_sudoku_eval_json_has_no_float32_noise_and_the_table_prints_its_numbers(tmp_path):
    """`rm eval` of Sudoku wrote exact_pct 94.9999988079071 (float32 means); 7 boards make sevenths."""
    run_dir = tmp_path / "run"
    proc = run_cli("train", f"run_dir={run_dir}", "threads=1", "trainer.max_steps=4", "trainer.val_check_interval=4",
                   "test_after_fit=false", *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "results.json"
    proc = run_cli("eval", f"checkpoint={run_dir / 'checkpoints' / 'last.ckpt'}", f"output={out}", "limit=7",
                   env={"COLUMNS": "80", "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["n"] == 7 and isinstance(metrics["n"], int)
    floats = {k: v for k, v in metrics.items() if isinstance(v, float)}
    assert floats and all(v == round(v, 4) for v in floats.values()), floats
    printed = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in proc.stdout.splitlines()
               if line.count("│") == 3}
    for key, value in floats.items():  # the table shows what the JSON holds
        assert float(printed[key]) == value, (key, printed[key], value)
    assert any(line.startswith("rm eval: sudoku (") and line.rstrip().endswith(")") for line in proc.stdout.splitlines())


def test_image_token_map_separator_is_as_wide_as_its_rows():
    """The separator was 4 * side = 32 characters under rows of 18."""
    from rm_cli.tasks.image.render import token_map

    grid = 4
    source = torch.arange(4 * grid * grid)
    canvas = source.clone()
    canvas[3], canvas[5] = 999, 7
    lines = token_map(canvas, source, grid, 999, "turn 1").plain.splitlines()[1:]
    assert len(lines) == 2 * grid + 1 and len({len(line) for line in lines}) == 1
    separator = lines[grid]
    assert set(separator) <= {"-", "+"} and separator.index("+") == lines[0].index("|")
    assert lines[0] == ". . . _ | . . . ." and lines[1] == ". # . . | . . . ."


@pytest.mark.parametrize("value, places, text", [(12.5, None, "12.500"), (12.5, 4, "12.5"), (100.0, 4, "100.0"),
                                                 (2 / 30 * 100, 4, "6.6667"), (float("nan"), 4, "nan"), (3, 4, "3")])
def test_cell_formats(value, places, text):
    from rm_cli.report import cell

    assert cell(value, places) == text
