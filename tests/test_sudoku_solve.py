"""Sudoku solving: the solver, the puzzle generator, the shipped test files, the kaidoku bank,
the training stream and its rules, bad puzzle files, and the solving metrics."""

import json

import pytest
import torch

from rm_cli.corruption import NativeCorruption, build_native_cache
from rm_cli.errors import UserError
from rm_cli.tasks.sudoku import SudokuTask, kaidoku, solver
from rm_cli.tasks.sudoku.grid import MASK_ID, is_solved_grid, rectangle_swaps
from rm_cli.tasks.sudoku.metrics import solve_metrics
from rm_cli.tasks.sudoku.puzzle_io import read_puzzles
from rm_cli.tasks.sudoku.puzzles import LEVELS, carved_pool, generate, to_digits
from rm_cli.tasks.sudoku.solve import SudokuSolveTask, assign_rules, solve_test_file
from rm_cli.trajectory import KEEP, KIND_KEEP, MASK, WRONG, TrajectorySimulator

SOLVED = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
PUZZLE = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
DIGITS = lambda text: [0 if c == "." else int(c) for c in text]  # noqa: E731


def test_solver_finds_the_solution_and_tells_none_from_several():
    assert solver.solutions(DIGITS(PUZZLE)) == [DIGITS(SOLVED)]
    assert solver.unique_solution(DIGITS(PUZZLE)) == DIGITS(SOLVED)
    assert solver.solved_by_singles(DIGITS(PUZZLE))
    unsolvable = DIGITS("12345678." + "........9" + "." * 63)  # no digit left for r1c9
    assert solver.conflict(unsolvable) is None and solver.solutions(unsolvable) == []
    grid = torch.tensor([[int(c) - 1 for c in SOLVED]])
    alt = rectangle_swaps(grid[0])[0]
    deadly = [0 if int(a) != int(b) else int(b) + 1 for a, b in zip(alt, grid[0])]  # 4 blanks, two ways to fill
    found = solver.solutions(deadly, limit=5)
    assert len(found) == 2 and DIGITS(SOLVED) in found and solver.unique_solution(deadly) is None
    assert solver.conflict(DIGITS("11" + "." * 79)) == "two 1s in row 1"
    assert solver.conflict(DIGITS("1" + "." * 8 + "1" + "." * 71)) == "two 1s in column 1"


@pytest.mark.parametrize("level", list(LEVELS))
def test_generated_puzzles_are_unique_seeded_and_in_range(level):
    boards, gold = generate(11, 6, level)
    lo, hi = LEVELS[level]
    givens = (boards != MASK_ID).sum(-1)
    assert ((givens >= lo) & (givens <= hi)).all(), givens
    assert is_solved_grid(gold).all()
    for board, solution in zip(boards, gold):
        assert solver.solutions(to_digits(board), limit=2) == [(solution + 1).tolist()]
    again, _ = generate(11, 3, level)
    assert torch.equal(again, boards[:3])  # a prefix of a larger set is the same set
    assert not torch.equal(generate(12, 3, level)[0], boards[:3])


def test_hard_puzzles_are_minimal_and_singles_filter_holds():
    boards, _ = generate(5, 2, "hard")
    for board in boards:
        digits = to_digits(board)
        for cell in [i for i, d in enumerate(digits) if d]:
            fewer = digits.copy()
            fewer[cell] = 0
            assert len(solver.solutions(fewer, limit=2)) == 2  # no given can go
    easy_singles, _ = generate(5, 4, "hard", singles_only=True)
    assert all(solver.solved_by_singles(to_digits(b)) for b in easy_singles)


@pytest.mark.parametrize("level", list(LEVELS))
def test_shipped_solve_test_files_regenerate_from_their_seed(tmp_path, level):
    shipped = solve_test_file(level).read_text().splitlines()
    assert len(shipped) == 1000
    out = tmp_path / "head.jsonl"
    SudokuTask(mode="solve", level=level).write_split("test", out, n=12)
    assert out.read_text().splitlines() == shipped[:12]
    puzzles = read_puzzles(solve_test_file(level))  # every puzzle re-solved: unique, gold agrees
    assert len(puzzles) == 1000 and not puzzles.several.any()
    givens = (~puzzles.editable).sum(-1)
    assert givens.min() >= LEVELS[level][0] and givens.max() <= LEVELS[level][1]
    assert len({g.numpy().tobytes() for g in puzzles.gold}) == 1000


def test_kaidoku_bank_levels_by_number_and_name():
    evil = read_puzzles("kaidoku:evil", limit=4)
    assert len(evil) == 4 and "kaidoku:evil" in evil.source
    assert torch.equal(read_puzzles("kaidoku:7", limit=4).inputs, evil.inputs)
    assert is_solved_grid(evil.gold).all()
    given = ~evil.editable
    assert torch.equal(evil.gold[given], evil.inputs[given]) and not evil.several.any()
    lines = kaidoku.bank_file().read_text().splitlines()
    assert all(lines[n - 1].startswith("7 ") for n in evil.lines)
    with pytest.raises(UserError, match="unknown kaidoku level 'nope'.*7 \\(evil\\)"):
        read_puzzles("kaidoku:nope")
    with pytest.raises(UserError, match="unknown kaidoku level '0'"):
        read_puzzles("kaidoku:0")


def test_bad_puzzle_files_fail_with_file_and_line(tmp_path):
    conflict = "11" + "." * 79
    unsolvable = "12345678." + "........9" + "." * 63
    wrong_solution = SOLVED[1:] + SOLVED[0]
    relabelled = SOLVED.translate(str.maketrans("45", "54"))  # a valid grid, but r1c1 is a 4, not the given 5
    cases = {
        "conflict.txt": (PUZZLE + "\n" + conflict + "\n", "conflict.txt:2: givens conflict: two 1s in row 1"),
        "nosolution.txt": (unsolvable + "\n", "nosolution.txt:1: puzzle has no solution"),
        "short.txt": (PUZZLE[:80] + "\n", "short.txt:1: board has 80 cells, expected 81"),
        "letter.txt": (PUZZLE[:5] + "x" + PUZZLE[6:] + "\n", "letter.txt:1: board has 'x' at cell 6"),
        "disagree.jsonl": (json.dumps({"board": PUZZLE, "solution": relabelled}) + "\n",
                           "disagree.jsonl:1: solution disagrees with the givens at cell 1"),
        "badsol.jsonl": (json.dumps({"board": PUZZLE, "solution": wrong_solution}) + "\n",
                         "badsol.jsonl:1: solution breaks"),
        # a line without a solution does not hide the next line's wrong one
        "mixed.jsonl": (json.dumps({"board": PUZZLE}) + "\n" + json.dumps({"board": PUZZLE, "solution": relabelled}) + "\n",
                        "mixed.jsonl:2: solution disagrees with the givens at cell 1"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        for read in (read_puzzles, SudokuTask(mode="solve").prompt_examples):  # rm eval and rm infer alike
            with pytest.raises(UserError) as e:
                read(tmp_path / name)
            assert message in str(e.value), (name, read, str(e.value))


def test_a_file_with_and_without_solutions_scores_each_line_by_its_own(tmp_path):
    """A given solution is the gold of its line (of a puzzle with several, the one the file names); a line
    without one gets the solver's. A byte-order mark before the first line is not part of the board."""
    path = tmp_path / "mixed.jsonl"
    path.write_text("\ufeff" + json.dumps({"board": PUZZLE}) + "\n" + json.dumps({"board": PUZZLE, "solution": SOLVED}) + "\n",
                    encoding="utf-8")
    puzzles = read_puzzles(path)
    solved = torch.tensor([int(c) - 1 for c in SOLVED])
    assert torch.equal(puzzles.gold, solved.expand(2, -1)) and puzzles.lines == [1, 2]
    boards = tmp_path / "boards.jsonl"  # revision: full boards, a solution on one line only: no gold for the file
    boards.write_text(json.dumps({"board": SOLVED}) + "\n" + json.dumps({"board": SOLVED, "solution": SOLVED}) + "\n")
    assert SudokuTask().prompt_examples(boards).gold is None


def test_puzzles_with_several_solutions_are_flagged_and_scored_by_solved(tmp_path):
    grid = torch.tensor([int(c) - 1 for c in SOLVED])
    alt = rectangle_swaps(grid)[0]
    deadly = "".join("." if int(a) != int(b) else str(int(b) + 1) for a, b in zip(alt, grid))
    path = tmp_path / "p.txt"
    path.write_text(PUZZLE + "\n" + deadly + "\n")
    puzzles = read_puzzles(path)
    assert puzzles.several.tolist() == [False, True] and puzzles.lines == [1, 2]
    final = puzzles.gold.clone()
    final[1] = alt  # the other solution: not "exact", but solved
    m = solve_metrics(puzzles.inputs, final, puzzles.gold, several=puzzles.several)
    assert m["exact_pct"] == 50.0 and m["solved_pct"] == 100.0 and m["several_solutions"] == 1


def test_solve_metrics_on_hand_made_boards():
    solution = torch.tensor([[int(c) - 1 for c in SOLVED]] * 2)
    puzzle = torch.tensor([[MASK_ID if c == "." else int(c) - 1 for c in PUZZLE]] * 2)
    blanks = (puzzle[0] == MASK_ID).nonzero().flatten()
    final = solution.clone()
    final[1, blanks[0]] = (solution[1, blanks[0]] + 1) % 9  # board 1: one blank wrong
    final[1, 0] = (solution[1, 0] + 1) % 9  # ...and a given overwritten
    # board 0: its first blank re-masked once and ends right; board 1: re-masked and ends wrong
    s0 = final.clone()
    s0[0, blanks[0]] = (solution[0, blanks[0]] + 2) % 9
    s1 = s0.clone()
    s1[:, blanks[0]] = MASK_ID
    traj = torch.stack([puzzle, s0, s1, final])
    m = solve_metrics(puzzle, final, solution, traj, nfe=torch.tensor([3, 5]), remasks=torch.tensor([1, 1]))
    assert m["exact_pct"] == 50.0 and m["solved_pct"] == 50.0
    assert m["givens_kept_pct"] == 50.0
    assert m["cell_acc_blanks_pct"] == pytest.approx(100 * (2 * len(blanks) - 1) / (2 * len(blanks)))
    assert m["conflict_cells_per_board"] > 0 and m["nfe_per_board"] == 4.0
    assert m["remasked_cells_per_board"] == 1.0 and m["remasked_end_correct_pct"] == 50.0
    # both re-masked digits were wrong; board 1 brought its wrong digit back (a replay)
    assert m["wrong_remask_events"] == 2 and m["replay_mistake_pct"] == 50.0


def test_cell_accuracy_of_boards_with_no_blank_is_not_a_number_and_prints_n_a():
    from rm_cli.report import cell

    solution = torch.tensor([[int(c) - 1 for c in SOLVED]])
    m = solve_metrics(solution, solution, solution)  # every cell given: nothing to solve
    assert m["cell_acc_blanks_pct"] is None and m["exact_pct"] == 100.0
    assert cell(m["cell_acc_blanks_pct"]) == "n/a" and cell(12.5) == "12.500"


def test_train_stream_rules_givens_and_augmentation():
    task = SudokuTask(mode="solve", puzzle_pool=40, val_size=8, wrong_rate=0.5)
    assert isinstance(task, SudokuSolveTask) and task.signature()["mode"] == "solve"
    stream = task.train_stream(batch_size=256, seed=0)
    batch = next(iter(stream))
    gold, editable, rule = batch["gold"], batch["editable"], batch["rule"]
    assert is_solved_grid(gold).all()
    givens = (~editable).sum(-1)
    assert givens.max() <= 35 and givens.min() >= 17
    assert torch.equal(rule == KEEP, ~editable)  # givens keep, every blank is WRONG or MASK
    wrong_share = (rule == WRONG).sum(-1).float() / editable.sum(-1)
    assert 0.15 < wrong_share.mean() < 0.35 and wrong_share.max() <= 0.75 and (rule == MASK).any()
    assert len({g.numpy().tobytes() for g in gold}) > 200  # 40 pool grids, augmented
    for g, e in list(zip(gold, editable))[:12]:  # each board is still a unique-solution puzzle
        assert solver.solutions(to_digits(g.masked_fill(e, MASK_ID)), limit=2) == [(g + 1).tolist()]
    held_out = task._test_keys() | {g.numpy().tobytes() for g in task.val_examples().gold}
    assert len(held_out) == 3008 and not ({g.numpy().tobytes() for g in stream.pool.grids} & held_out)


def test_carved_pool_blanks_any_number_down_to_minimal(capsys):
    pool = carved_pool(3, 4)
    assert "carving the puzzle pool: 4/4 (100%)" in capsys.readouterr().out  # the minute before step 1 shows progress
    assert ((pool.depth >= 48) & (pool.depth <= 64)).all()  # minimal puzzles: 17-33 givens
    pick, givens = torch.tensor([0, 1, 2, 3, 0]), torch.tensor([35, 30, 26, 10, 60])
    blank = pool.blanks(pick, givens)
    assert torch.equal(blank.sum(-1), torch.minimum(81 - givens, pool.depth[pick]))
    assert blank[3].sum() == pool.depth[3] and blank[4].sum() == 21
    for row, b in zip(pick, blank):
        g = pool.grids[row]
        assert solver.unique_solution(to_digits(g.masked_fill(b, MASK_ID))) == (g + 1).tolist()


class RankingModel(torch.nn.Module):
    """A stand-in frozen model (a module without weights) that always ranks the digits 1 > 2 > ... > 9, whatever the board."""

    mask_id = MASK_ID

    def start(self, x):
        return None

    def logits(self, x, state=None, logits_from=0):
        return (torch.arange(10, 0, -1, dtype=torch.float).expand(*x.shape, 10).clone())[:, logits_from:]


def test_native_corruption_draws_the_cached_top_k(tmp_path):
    task = SudokuTask(mode="solve", puzzle_pool=20, val_size=4)
    examples = task.native_examples(n=40, seed=1)
    assert len(examples) == 40 and torch.equal(examples.inputs == MASK_ID, examples.editable)
    cache = build_native_cache(RankingModel(), examples, k=2, batch_size=16)
    top = torch.where(examples.gold == 0, 1, 0)  # digit 1 (token 0) unless it is gold, then digit 2
    assert torch.equal(cache["wrong"][..., 0].long(), top)
    assert not (cache["wrong"].long() == examples.gold.unsqueeze(-1)).any()
    path = tmp_path / "native.pt"
    torch.save(cache, path)
    corruption = NativeCorruption(str(path))
    gold = examples.gold[:16]
    wrong = corruption(gold, 10, MASK_ID, torch.Generator().manual_seed(0))
    top2 = cache["wrong"][:16].long()
    assert ((wrong.unsqueeze(-1) == top2).any(-1)).all()  # only the two most likely wrong digits...
    assert (wrong == top2[..., 0]).any() and (wrong == top2[..., 1]).any()  # ...and both of them
    with pytest.raises(UserError, match="not in the native corruption cache"):
        corruption(torch.roll(gold, 1, dims=1), 10, MASK_ID)
    missing = NativeCorruption(str(tmp_path / "absent.pt"))  # loads lazily: a checkpoint still loads
    with pytest.raises(UserError, match="no such native corruption cache"):
        missing(gold, 10, MASK_ID)
    native = SudokuTask(mode="solve", val_size=4, native_cache=str(path))
    batch = next(iter(native.train_stream(batch_size=32, seed=0)))
    keys = {g.numpy().tobytes() for g in examples.gold}
    assert all(g.numpy().tobytes() in keys for g in batch["gold"])
    with pytest.raises(UserError, match="task.mode=solve"):
        SudokuTask(native_cache=str(path))


def test_bad_solve_options_are_rejected():
    with pytest.raises(UserError, match="task.level='expert'"):
        SudokuTask(mode="solve", level="expert")
    with pytest.raises(UserError, match="wrong_rate"):
        SudokuTask(mode="solve", wrong_rate=1.5)
    with pytest.raises(UserError, match="keep_rate"):
        SudokuTask(mode="solve", keep_rate=-0.1)
    with pytest.raises(UserError, match="unknown task option"):
        SudokuTask(levle="hard")


def test_revision_mode_ignores_the_solve_options():
    task = SudokuTask(level="easy", wrong_rate=0.1, train_pool=50, val_size=8)
    assert type(task) is SudokuTask and task.test_size == 500
    batch = next(iter(task.train_stream(batch_size=32, seed=0)))
    assert batch["editable"].all() and set(batch["rule"].unique().tolist()) == {KEEP, WRONG}


def test_keep_rate_reveals_gold_digits_on_partly_masked_training_boards():
    """keep_rate > 0: some blanks show their gold digit from the first state on (what a decoder that
    reveals a few cells a turn produces), so the keep loss sees right digits on mostly masked boards."""
    blank = torch.rand(512, 81, generator=torch.Generator().manual_seed(0)) < 0.6
    off = assign_rules(blank, 0.5, torch.Generator().manual_seed(1))
    assert torch.equal(off == KEEP, ~blank)  # keep_rate=0: every blank is WRONG or MASK, as before
    on = assign_rules(blank, 0.5, torch.Generator().manual_seed(1), keep_rate=1.0)
    assert torch.equal(on[~blank], off[~blank])
    kept = ((on == KEEP) & blank).sum(-1).float() / blank.sum(-1)
    assert 0.4 < kept.mean() < 0.6 and kept.min() < 0.1 and kept.max() > 0.9  # q ~ U(0, 1) per board
    assert ((on == WRONG) & blank).any() and ((on == MASK) & blank).any()
    gold = torch.randint(0, 9, blank.shape)
    wrong = (gold + 1) % 9
    traj = TrajectorySimulator(6)(gold, on, wrong, MASK_ID, torch.Generator().manual_seed(2))
    first = traj.states[:, 0]
    kept_blank = blank & (on == KEEP)
    assert torch.equal(first[kept_blank], gold[kept_blank])  # visible and right from x(0) on
    assert (traj.kind[kept_blank] == KIND_KEEP).all()
    task = SudokuTask(mode="solve", puzzle_pool=40, val_size=8, keep_rate=1.0)
    rule, editable = (lambda b: (b["rule"], b["editable"]))(next(iter(task.train_stream(batch_size=64, seed=0))))
    assert ((rule == KEEP) & editable).any()


def test_singles_only_scores_the_shipped_puzzles_that_singles_solve():
    """The shipped test file is not filtered; singles_only=true used to score all of it, saying nothing."""
    every = SudokuTask(mode="solve", level="hard").test_examples()
    task = SudokuTask(mode="solve", level="hard", singles_only=True)
    picked = task.test_examples()
    assert 0 < len(picked) < len(every) and "that singles solve: task.singles_only" in picked.source
    assert all(solver.solved_by_singles(to_digits(board)) for board in picked.inputs)
    first = every.lines.index(picked.lines[0])
    assert torch.equal(picked.gold[0], every.gold[first]) and len(task.eval_examples(limit=5)) == 5


def test_a_puzzle_the_check_cannot_settle_quickly_is_one_clear_line(tmp_path, monkeypatch):
    """Norvig's 17-given puzzle with no solution took the solver minutes to prove it; the check now gives up."""
    from rm_cli.tasks.sudoku import puzzle_io

    path = tmp_path / "impossible.txt"
    path.write_text(".....5.8....6.1.43..........1.5........1.6...3.......553.....61........4.........\n")
    monkeypatch.setattr(puzzle_io, "CHECK_NODES", 2_000)  # the same line as at 100,000, sooner
    with pytest.raises(UserError, match=r"impossible.txt:1: could not settle whether the puzzle has a solution within 2,000"):
        read_puzzles(path)
    board = [0 if c == "." else int(c) for c in path.read_text().strip()]
    with pytest.raises(solver.SearchTooLong):
        solver.solutions(board, max_nodes=2_000)
