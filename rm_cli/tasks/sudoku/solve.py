"""Sudoku solving (task.mode=solve): the givens are fixed, the blanks start masked.

Data. Test and validation puzzles come from the seeded generator (`puzzles.py`): unique solution,
givens per level (easy 32-35, medium 27-31, hard: minimal puzzles with 22-26). The 1,000 test
puzzles of each level ship in rm_cli/data/ and regenerate with
`rm prepare task=sudoku task.mode=solve task.level=LEVEL output=FILE`. Training draws from a pool
of grids carved to minimal puzzles (seed 20000 + run seed): each board takes a pool grid, a
number of givens from the `train_levels` range, and a random Sudoku symmetry (digit relabelling,
band/stack/row/column permutations, transpose). Pool grids exclude the held-out ones, and an
augmented board that equals one is swapped back for its pool grid.

Rules for RM training. Givens are not editable (out of the loss). Each board draws rates
q ~ U(0, keep_rate) and r ~ U(0, wrong_rate); each blank is KEEP with probability q (its gold
digit already revealed, as a decoder that reveals a few cells a turn leaves it), else WRONG with
probability r (it shows a wrong digit from the corruption first), else MASK. Per-board rates span
what decoding produces: boards with almost every blank masked and no error (the first turn),
boards whose blanks are all filled with many wrong digits (after a turn that revealed everything
at once) and, with keep_rate > 0, partly filled boards whose visible digits are mostly right.
With keep_rate = 0 every visible blank of a mostly masked training board is wrong, and the model
learns to re-mask any digit revealed early: right for one-shot decoding, fatal for `rm_solve`,
which reveals a few cells a turn. objective=mdm ignores the rules and masks a random share of
the blanks.

With corruption=native the boards come from the cache that `rm prepare split=native` wrote
(a sample of this stream, with a frozen checkpoint's top-k wrong digits per blank), unaugmented,
so that the corruption can find each board's wrong digits.
"""

from importlib import resources
from pathlib import Path

import torch

from rm_cli.errors import UserError
from rm_cli.tasks.base import Examples
from rm_cli.tasks.sudoku import boards as board_io
from rm_cli.tasks.sudoku import solver
from rm_cli.tasks.sudoku.grid import MASK_ID, apply_transform, random_transform
from rm_cli.tasks.sudoku.metrics import solve_metrics
from rm_cli.tasks.sudoku.puzzle_io import Puzzles, puzzles_from, read_puzzles
from rm_cli.tasks.sudoku.puzzles import LEVELS, carved_pool, check_level, generate, to_digits
from rm_cli.tasks.sudoku.task import SudokuTask
from rm_cli.trajectory import KEEP, MASK, WRONG

TEST_SEEDS = {"easy": 2101, "medium": 2202, "hard": 2303}  # one fixed seed per level
VAL_SEED, POOL_SEED, NATIVE_SEED = 4322, 20_000, 30_000
TEST_SIZE, NATIVE_SIZE = 1000, 20_000


def solve_test_file(level: str) -> Path:
    return Path(str(resources.files("rm_cli") / "data" / f"sudoku_solve_{level}_test.jsonl"))


def keys(tokens: torch.Tensor) -> set[bytes]:
    return {row.numpy().tobytes() for row in tokens}


def assign_rules(blank: torch.Tensor, wrong_rate: float, generator, keep_rate: float = 0.0) -> torch.Tensor:
    """[B, 81] rule per cell: givens KEEP; each blank KEEP with a per-board rate q ~ U(0, keep_rate),
    else WRONG with a per-board rate r ~ U(0, wrong_rate), else MASK."""
    rate = torch.rand(blank.shape[0], 1, generator=generator) * wrong_rate
    wrong = torch.rand(blank.shape, generator=generator) < rate
    rules = torch.where(blank, torch.where(wrong, WRONG, MASK), KEEP)
    if keep_rate > 0:  # drawn only then, so keep_rate=0 replays the streams of earlier runs exactly
        keep = torch.rand(blank.shape, generator=generator) < torch.rand(blank.shape[0], 1, generator=generator) * keep_rate
        rules = torch.where(keep, KEEP, rules)
    return rules


class SolveTrainStream(torch.utils.data.IterableDataset):
    """Endless batches of augmented pool puzzles (or, with `boards` given, of cached boards)."""

    def __init__(self, pool, held_out: set[bytes], batch_size: int, seed: int, givens: tuple[int, int],
                 wrong_rate: float, boards: tuple[torch.Tensor, torch.Tensor] | None = None, keep_rate: float = 0.0):
        super().__init__()
        self.pool, self.held_out, self.batch_size, self.seed = pool, held_out, batch_size, seed
        self.givens, self.wrong_rate, self.boards, self.keep_rate = givens, wrong_rate, boards, keep_rate

    def draw(self, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(gold, blank) of one batch."""
        B = self.batch_size
        if self.boards is not None:
            pick = torch.randint(0, len(self.boards[0]), (B,), generator=g)
            return self.boards[0][pick].long(), self.boards[1][pick]
        pick = torch.randint(0, len(self.pool), (B,), generator=g)
        givens = torch.randint(self.givens[0], self.givens[1] + 1, (B,), generator=g)
        base_gold, base_blank = self.pool.grids[pick], self.pool.blanks(pick, givens)
        index, relabel = random_transform(B, g)
        gold, blank = apply_transform(base_gold, index, relabel), apply_transform(base_blank, index)
        clash = torch.tensor([row.numpy().tobytes() in self.held_out for row in gold])
        gold[clash], blank[clash] = base_gold[clash], base_blank[clash]
        return gold, blank

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        while True:
            gold, blank = self.draw(g)
            yield {"gold": gold, "editable": blank, "rule": assign_rules(blank, self.wrong_rate, g, self.keep_rate)}


class SudokuSolveTask(SudokuTask):
    # blanks start masked: one-shot `rm` scores ~0 %; reveal a few a turn (with re-masking for RM)
    default_samplers = {"rm": "rm_solve", "mdm": "vanilla"}

    def __init__(self, name: str = "sudoku", mode: str = "solve", level: str = "hard",
                 train_levels=("easy", "medium", "hard"), singles_only: bool = False, wrong_rate: float = 0.5,
                 keep_rate: float = 0.0, puzzle_pool: int = 3000, val_size: int = 256, test_size: int | None = None,
                 native_cache: str | None = None, **revision_options):
        super().__init__(name=name, mode=mode, val_size=val_size, **revision_options)
        check_level(level)
        train_levels = [train_levels] if isinstance(train_levels, str) else list(train_levels)
        if not train_levels:
            raise UserError("task.train_levels needs at least one level")
        for each in train_levels:
            check_level(each)
        if not 0.0 <= wrong_rate <= 1.0:
            raise UserError(f"task.wrong_rate must be in [0, 1], got {wrong_rate}")
        if not 0.0 <= keep_rate <= 1.0:
            raise UserError(f"task.keep_rate must be in [0, 1], got {keep_rate}")
        if puzzle_pool < 1:
            raise UserError(f"task.puzzle_pool must be >= 1, got {puzzle_pool}")
        self.mode, self.level, self.train_levels = mode, level, train_levels
        self.singles_only, self.wrong_rate, self.puzzle_pool = singles_only, wrong_rate, puzzle_pool
        self.keep_rate = keep_rate
        self.test_size, self.native_cache = test_size or TEST_SIZE, native_cache
        self._val: Puzzles | None = None

    # ---- data -----------------------------------------------------------------------------
    def make_split(self, seed: int, n: int, exclude: set[bytes] = frozenset()) -> Puzzles:
        boards, gold = generate(seed, n, self.level, self.singles_only, exclude)
        editable = boards == MASK_ID
        return Puzzles(boards, editable, gold, f"{self.level} puzzles, seed {seed}", [], torch.zeros(n, dtype=torch.bool))

    def write_split(self, split: str, path, n: int | None = None, seed: int | None = None) -> None:
        """Write `test` (or `val`) puzzles of `level` as JSONL; the shipped files are this with defaults."""
        if split == "test":
            examples = self.make_split(TEST_SEEDS[self.level] if seed is None else seed, n or self.test_size)
        else:
            examples = self.make_split(VAL_SEED if seed is None else seed, n or self.val_size, self._test_keys())
        board_io.write_boards(path, examples.inputs, examples.gold)

    def _test_keys(self) -> set[bytes]:
        """Solution grids of every level's shipped test file (parsed, not re-solved)."""
        out = set()
        for level in LEVELS:
            path = solve_test_file(level)
            if path.is_file():
                out |= keys(board_io.read_boards(path, need_solution=True)[1])
        return out

    def val_examples(self) -> Puzzles:
        if self._val is None:  # generated once: train_stream needs its grids too
            self._val = self.make_split(VAL_SEED, self.val_size, self._test_keys())
        return self._val

    def train_givens(self) -> tuple[int, int]:
        return min(LEVELS[lv][0] for lv in self.train_levels), max(LEVELS[lv][1] for lv in self.train_levels)

    def train_stream(self, batch_size: int, seed: int):
        held_out = self._test_keys() | keys(self.val_examples().gold)
        if self.native_cache is not None:
            from rm_cli.corruption import load_native_cache

            cache = load_native_cache(self.native_cache)
            return SolveTrainStream(None, held_out, batch_size, seed, self.train_givens(), self.wrong_rate,
                                    boards=(cache["gold"], cache["editable"]), keep_rate=self.keep_rate)
        pool = carved_pool(POOL_SEED + seed, self.puzzle_pool, held_out)
        return SolveTrainStream(pool, held_out, batch_size, seed, self.train_givens(), self.wrong_rate,
                                keep_rate=self.keep_rate)

    def native_examples(self, n: int | None = None, seed: int | None = None) -> Examples:
        """A sample of the (non-native) training stream, blanks masked: the boards of the native cache."""
        n, seed = n or NATIVE_SIZE, NATIVE_SEED if seed is None else seed
        held_out = self._test_keys() | keys(self.val_examples().gold)
        pool = carved_pool(POOL_SEED + seed, self.puzzle_pool, held_out)
        stream = SolveTrainStream(pool, held_out, min(n, 1024), seed, self.train_givens(), self.wrong_rate)
        g = torch.Generator().manual_seed(seed)
        golds, blanks = zip(*(stream.draw(g) for _ in range(-(-n // stream.batch_size))))
        gold, blank = torch.cat(golds)[:n], torch.cat(blanks)[:n]
        return Examples(gold.masked_fill(blank, MASK_ID), blank, gold, f"native sample, seed {seed}")

    def test_examples(self, path=None) -> Puzzles:
        return self.eval_examples(path)

    def eval_examples(self, path=None, limit: int | None = None) -> Puzzles:
        """Puzzles of `path` (a file or "kaidoku:LEVEL"; default: this level's shipped file), checked and solved.
        With singles_only and no file, the shipped file's puzzles that singles solve (it is not filtered itself)."""
        if path is not None or not self.singles_only:
            return read_puzzles(path or solve_test_file(self.level), limit)
        puzzles = read_puzzles(solve_test_file(self.level))
        keep = torch.tensor([solver.solved_by_singles(to_digits(board)) for board in puzzles.inputs])
        picked = Puzzles(puzzles.inputs[keep], puzzles.editable[keep], puzzles.gold[keep],
                         f"{puzzles.source} (the {int(keep.sum())} of {len(keep)} that singles solve: task.singles_only)",
                         [line for line, k in zip(puzzles.lines, keep.tolist()) if k], puzzles.several[keep])
        return picked.take(limit)

    def prompt_examples(self, path) -> Examples:
        """Puzzles to solve, checked as eval checks them (givens that conflict, no solution, a given solution that
        disagrees: one line naming path:line); several solutions are fine here, there is nothing to score."""
        boards, sols, lines = board_io.read_boards(path, need_solution=False)
        checked = puzzles_from(boards, sols, path, lines)
        return Puzzles(boards, boards == MASK_ID, board_io.solutions_of_every_line(sols), str(path), lines, checked.several)

    # ---- scoring ----------------------------------------------------------------------------
    def metrics(self, examples: Examples, result) -> dict:
        several = getattr(examples, "several", None)
        return solve_metrics(examples.inputs, result.tokens, examples.gold, result.trajectory, result.nfe,
                             result.remask_total, several)
