import json
import random

import pytest
import torch

from rm_cli.errors import UserError
from rm_cli.tasks.sudoku import SudokuTask
from rm_cli.tasks.sudoku.boards import format_board, read_boards
from rm_cli.tasks.sudoku.grid import MASK_ID, conflict_cells, is_solved_grid, random_solution, random_symmetry
from rm_cli.tasks.sudoku.metrics import changed_correct, conflicts_per_board, exact, replay_events, sudoku_metrics, valid
from rm_cli.tasks.sudoku.task import default_test_file, solutions
from rm_cli.trajectory import KEEP, WRONG

# A known solved grid (tokens = digit - 1).
SOLVED = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
GRID = torch.tensor([[int(c) - 1 for c in SOLVED]])


def test_generated_grids_are_valid_and_seeded():
    a = [random_solution(random.Random(3)) for _ in range(2)]
    b = [random_solution(random.Random(3)) for _ in range(2)]
    assert a == b
    grids = torch.tensor([random_solution(random.Random(s)) for s in range(50)]) - 1
    assert is_solved_grid(grids).all()
    assert len({tuple(g.tolist()) for g in grids}) == 50


def test_symmetries_keep_grids_valid_and_change_them(generator):
    grids = GRID.expand(200, -1).clone()
    moved = random_symmetry(grids, generator)
    assert is_solved_grid(moved).all()
    assert len({tuple(g.tolist()) for g in moved}) > 190


def test_symmetry_keeps_mask_tokens_masked(generator):
    board = GRID.clone()
    board[0, :10] = MASK_ID
    moved = random_symmetry(board, generator)
    assert (moved == MASK_ID).sum() == 10


def test_metrics_on_hand_made_boards():
    solution = GRID.expand(4, -1).clone()
    start = solution.clone()
    start[1, 0] = (start[1, 0] + 1) % 9  # one wrong cell in the input of board 1
    final = solution.clone()
    final[1] = start[1]  # board 1: left the wrong digit in place
    final[2, [0, 1]] = final[2, [1, 0]]  # board 2: two digits swapped in row 0 (still a row-valid permutation)
    final[3, 5] = MASK_ID  # board 3: a blank left
    assert exact(final, solution).tolist() == [True, False, False, False]
    assert valid(final).tolist() == [True, False, False, False]
    # board 1: the wrong 6 at r0c0 clashes with the 6 at r0c3 (row) and the 6 at r1c0 (column and box)
    assert conflicts_per_board(final).tolist()[:2] == [0, 3]
    # board 2: 5<->3 swap in row 0: each clashes in its column and box
    assert conflicts_per_board(final)[2] > 0
    assert conflicts_per_board(final)[3] == 0  # a blank is not a conflict, but not valid either
    assert changed_correct(start, final, solution).tolist() == [0, 0, 2, 1]


def test_conflict_cells_counts_every_cell_of_a_duplicate():
    board = GRID.clone()
    board[0, 0] = board[0, 8]  # the digit at r0c8 now also at r0c0
    cells = conflict_cells(board)[0]
    assert cells[0] and cells[8]


def test_replay_events_on_a_hand_made_trajectory():
    solution = GRID.clone()
    w = (int(solution[0, 0]) + 1) % 9
    v = (int(solution[0, 1]) + 2) % 9
    s0 = solution.clone()
    s0[0, 0], s0[0, 1] = w, v
    s1 = s0.clone()
    s1[0, 0] = s1[0, 1] = MASK_ID  # both wrong cells re-masked
    s2 = s1.clone()
    s2[0, 0] = w  # cell 0 re-revealed as the same wrong digit: a replay
    s3 = s2.clone()
    s3[0, 1] = solution[0, 1]  # cell 1 revealed correctly (one turn later)
    s4 = s3.clone()
    s4[0, 0] = MASK_ID  # cell 0 re-masked again, then fixed
    s5 = s4.clone()
    s5[0, 0] = solution[0, 0]
    traj = torch.stack([s0, s1, s2, s3, s4, s5])
    assert replay_events(traj, solution) == (3, 1)
    m = sudoku_metrics(s0, s5, solution, traj)
    assert m["replay_mistake_pct"] == pytest.approx(100 / 3)
    assert m["exact_pct"] == 100.0


def test_board_files_parse_and_reject_bad_lines(tmp_path):
    good = tmp_path / "good.jsonl"
    board = SOLVED[:80] + "."
    good.write_text(json.dumps({"board": board, "solution": SOLVED}) + "\n\n" + json.dumps({"board": SOLVED, "solution": SOLVED}) + "\n")
    boards, sols, lines = read_boards(good, need_solution=True)
    assert boards.shape == (2, 81) and boards[0, 80] == MASK_ID and lines == [1, 3]
    assert format_board(boards[0]) == board

    plain = tmp_path / "plain.txt"
    plain.write_text(SOLVED + "\n" + SOLVED.replace("5", "0", 1) + "\n")
    boards, sols, _ = read_boards(plain, need_solution=False)
    assert sols is None and boards[1, 0] == MASK_ID

    cases = {
        "short.txt": (SOLVED[:80] + "\n", "short.txt:1: board has 80 cells, expected 81"),
        "letter.txt": (SOLVED + "\n" + SOLVED[:10] + "x" + SOLVED[11:] + "\n", "letter.txt:2: board has 'x' at cell 11"),
        "json.jsonl": ('{"board": "1"\n', "json.jsonl:1: invalid JSON"),
        "nosol.jsonl": (json.dumps({"board": SOLVED}) + "\n", 'nosol.jsonl:1: missing "solution"'),
        "badsol.jsonl": (json.dumps({"board": SOLVED, "solution": SOLVED[1:] + SOLVED[0]}) + "\n", "badsol.jsonl:1: solution breaks"),
        "empty.txt": ("\n\n", "empty.txt: file holds no boards"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(UserError) as e:
            read_boards(tmp_path / name, need_solution=True)
        assert message in str(e.value), (name, str(e.value))
    with pytest.raises(UserError, match="no such file"):
        read_boards(tmp_path / "missing.jsonl", need_solution=False)


def test_shipped_test_file_regenerates_from_its_seed(tmp_path):
    task = SudokuTask()
    out = tmp_path / "test.jsonl"
    task.write_split("test", out)
    assert out.read_text() == default_test_file("revision").read_text()
    examples = task.test_examples()
    assert len(examples) == 500
    k = (examples.inputs != examples.gold).sum(-1)
    assert k.min() >= 4 and k.max() <= 20
    assert is_solved_grid(examples.gold).all()


def test_splits_are_disjoint_by_solution_grid():
    task = SudokuTask(train_pool=2000, val_size=256)
    key = lambda t: {g.numpy().tobytes() for g in t}  # noqa: E731
    test, val = key(task.test_examples().gold), key(task.val_examples().gold)
    stream = task.train_stream(batch_size=64, seed=0)
    pool = key(stream.pool)
    assert not (test & val) and not (pool & test) and not (pool & val)
    # The stream's clash guard: make every board of the first batch a held-out grid, replay the
    # same seed, and each board must fall back to its (disjoint) pool grid.
    first = key(next(iter(stream))["gold"])
    stream.held_out = stream.held_out | first
    replay = key(next(iter(stream))["gold"])
    assert not (replay & first) and replay <= pool


def test_train_stream_batches_match_the_revision_protocol():
    task = SudokuTask(train_pool=500, val_size=16)
    batch = next(iter(task.train_stream(batch_size=256, seed=1)))
    assert is_solved_grid(batch["gold"]).all()
    n_wrong = (batch["rule"] == WRONG).sum(-1)
    assert n_wrong.min() >= 4 and n_wrong.max() <= 20 and len(set(n_wrong.tolist())) > 10
    assert set(batch["rule"].unique().tolist()) == {KEEP, WRONG}
    assert batch["editable"].all()


def test_pool_generation_is_deterministic():
    assert torch.equal(solutions(5, 20), solutions(5, 20))
    assert not torch.equal(solutions(5, 20), solutions(6, 20))


def test_bad_task_options_are_rejected():
    with pytest.raises(UserError, match="task.mode"):
        SudokuTask(mode="solve_everything")
    with pytest.raises(UserError, match="min_wrong"):
        SudokuTask(min_wrong=10, max_wrong=5)


def test_rectangle_swaps_and_ambiguity_on_a_hand_made_board():
    from rm_cli.tasks.sudoku.grid import ambiguous, rectangle_swaps
    from rm_cli.tasks.sudoku.metrics import valid_within_k

    alts = rectangle_swaps(GRID[0])
    assert alts  # this grid has 4-cell rectangles
    for alt in alts:
        assert is_solved_grid(alt.view(1, 81)).item() and int((alt != GRID[0]).sum()) == 4
    alt = alts[0]
    diff = (alt != GRID[0]).nonzero().flatten()
    start = GRID.clone()
    start[0, diff[:2]] = alt[diff[:2]]  # corrupt two corners towards the alternative: a tie
    assert ambiguous(start, GRID).tolist() == [True]
    assert valid_within_k(start, alt.view(1, 81), GRID).tolist() == [True]
    assert valid_within_k(start, GRID, GRID).tolist() == [True]
    far = GRID.clone()
    far[0, 60] = (far[0, 60] + 1) % 9
    assert ambiguous(far, GRID).tolist() == [False]


def test_revision_mode_refuses_a_native_cache_naming_solve_mode():
    """`rm prepare task=sudoku split=native` read 'not available for task sudoku', as if Sudoku had none."""
    with pytest.raises(UserError, match="implemented for task.mode=solve; pass task.mode=solve"):
        SudokuTask().native_examples(n=4)
