"""The Sudoku task: revision of corrupted full boards (SPEC §5 protocol)."""

from importlib import resources
from itertools import islice
from pathlib import Path

import torch
from rich.text import Text

from rm_cli.errors import UserError
from rm_cli.report import round_metrics
from rm_cli.tasks.base import Examples, Task
from rm_cli.tasks.sudoku import boards as board_io
from rm_cli.tasks.sudoku.grid import MASK_ID, N_DIGITS, grid_stream, random_symmetry
from rm_cli.tasks.sudoku.metrics import sudoku_metrics
from rm_cli.tasks.sudoku.puzzles import LEVELS
from rm_cli.trajectory import KEEP, WRONG

# Fixed seeds of the held-out splits: every run and every machine scores the same boards.
TEST_SEED, VAL_SEED = 1234, 4321
MODES = ("revision", "solve")
# Keys of conf/task/sudoku.yaml that only task.mode=solve reads (see rm_cli/tasks/sudoku/solve.py).
SOLVE_OPTIONS = {"level", "train_levels", "singles_only", "wrong_rate", "keep_rate", "puzzle_pool"}


def default_test_file(mode: str) -> Path:
    return Path(str(resources.files("rm_cli") / "data" / f"sudoku_{mode}_test.jsonl"))


def solutions(seed: int, n: int, exclude: set[bytes] = frozenset()) -> torch.Tensor:
    """n distinct solved grids (tokens) from a seeded generator, none of them in `exclude`."""
    return torch.stack(list(islice(grid_stream(seed, exclude), n)))


def corrupt(solution: torch.Tensor, min_wrong: int, max_wrong: int, generator) -> torch.Tensor:
    """Boolean [B, 81]: k ~ U{min_wrong..max_wrong} cells per board chosen to hold a wrong digit."""
    B = solution.shape[0]
    k = torch.randint(min_wrong, max_wrong + 1, (B, 1), generator=generator)
    rank = torch.rand(B, 81, generator=generator).argsort(-1).argsort(-1)
    return rank < k


def wrong_digits(solution: torch.Tensor, generator) -> torch.Tensor:
    """A uniformly drawn digit different from the solution's, for every cell."""
    shift = torch.randint(1, N_DIGITS, solution.shape, generator=generator)
    return (solution + shift) % N_DIGITS


class SudokuTrainStream(torch.utils.data.IterableDataset):
    """Endless training batches: pool grids under a random symmetry, corrupted cells marked WRONG.

    Boards that coincide with a held-out (validation or test) grid are swapped for a pool grid,
    so the splits stay disjoint by solution grid.
    """

    def __init__(self, pool: torch.Tensor, held_out: set[bytes], batch_size: int, seed: int, min_wrong: int, max_wrong: int):
        super().__init__()
        self.pool, self.held_out, self.batch_size, self.seed = pool, held_out, batch_size, seed
        self.min_wrong, self.max_wrong = min_wrong, max_wrong

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        while True:
            pick = torch.randint(0, len(self.pool), (self.batch_size,), generator=g)
            gold = random_symmetry(self.pool[pick], g)
            clash = torch.tensor([row.numpy().tobytes() in self.held_out for row in gold])
            gold[clash] = self.pool[pick[clash]]
            wrong = corrupt(gold, self.min_wrong, self.max_wrong, g)
            rule = torch.where(wrong, WRONG, KEEP)
            yield {"gold": gold, "editable": torch.ones_like(gold, dtype=torch.bool), "rule": rule}


class SudokuTask(Task):
    """Revision (the default mode); `SudokuTask(mode="solve")` builds the solving task instead, so
    one config group (`task=sudoku task.mode=...`) serves both."""

    vocab_size, mask_id, seq_len = N_DIGITS + 1, MASK_ID, 81
    option_choices = {"mode": MODES, "level": tuple(LEVELS)}

    def __new__(cls, *args, mode: str = "revision", **kwargs):
        if cls is SudokuTask and mode == "solve":
            from rm_cli.tasks.sudoku.solve import SudokuSolveTask

            cls = SudokuSolveTask
        return super().__new__(cls)

    def __init__(self, name: str = "sudoku", mode: str = "revision", min_wrong: int = 4, max_wrong: int = 20,
                 train_pool: int = 20000, val_size: int = 256, test_size: int | None = None,
                 native_cache: str | None = None, corruption_target: str | None = None, **solve_options):
        if mode not in MODES:
            raise UserError(f"task.mode={mode!r} is not one of: {', '.join(MODES)}")
        if not 1 <= min_wrong <= max_wrong <= 81:
            raise UserError(f"need 1 <= task.min_wrong <= task.max_wrong <= 81, got {min_wrong}..{max_wrong}")
        if native_cache is not None:
            raise UserError("corruption=native is implemented for task.mode=solve (its boards come from the cache)")
        if mode == "revision" and str(corruption_target).endswith(".ConsistentDigits"):
            raise UserError("corruption=consistent is for task.mode=solve (on a full revision board no wrong digit is "
                            "consistent with the others)")
        unknown = set(solve_options) - SOLVE_OPTIONS
        if unknown:
            raise UserError(f"unknown task option(s): {', '.join(sorted(unknown))}")
        self.name, self.mode = name, mode
        self.min_wrong, self.max_wrong = min_wrong, max_wrong
        self.train_pool, self.val_size, self.test_size = train_pool, val_size, test_size or 500

    def signature(self) -> dict:
        return {**super().signature(), "mode": self.mode}

    def coordinates(self) -> torch.Tensor:
        """(row, column, box) of each cell: the backbone learns one embedding per row, column and box."""
        cell = torch.arange(81)
        row, col = cell // 9, cell % 9
        return torch.stack([row, col, (row // 3) * 3 + col // 3])

    # ---- data -----------------------------------------------------------------------------
    def native_examples(self, n: int | None = None, seed: int | None = None):
        """Revision boards come whole from the generator; the native cache is solve mode's (its subclass)."""
        raise UserError("corruption=native is implemented for task.mode=solve; pass task.mode=solve")

    def make_split(self, seed: int, n: int, exclude: set[bytes] = frozenset()) -> Examples:
        """n corrupted boards of fresh solution grids, all drawn from `seed`."""
        gold = solutions(seed, n, exclude)
        g = torch.Generator().manual_seed(seed + 1)
        inputs = torch.where(corrupt(gold, self.min_wrong, self.max_wrong, g), wrong_digits(gold, g), gold)
        return Examples(inputs, torch.ones_like(gold, dtype=torch.bool), gold, source=f"seed {seed}")

    def write_split(self, split: str, path, n: int | None = None, seed: int | None = None) -> None:
        """Write the fixed `test` (or `val`) boards as JSONL; the shipped test file is this with defaults."""
        if split == "test":
            examples = self.make_split(TEST_SEED if seed is None else seed, n or self.test_size)
        else:
            test_keys = {row.numpy().tobytes() for row in self.test_examples().gold}
            examples = self.make_split(VAL_SEED if seed is None else seed, n or self.val_size, test_keys)
        board_io.write_boards(path, examples.inputs, examples.gold)

    def _held_out_keys(self) -> set[bytes]:
        test = self.test_examples()
        val = self.val_examples()
        return {row.numpy().tobytes() for row in torch.cat([test.gold, val.gold])}

    def val_examples(self) -> Examples:
        test_keys = {row.numpy().tobytes() for row in self.test_examples().gold}
        return self.make_split(VAL_SEED, self.val_size, test_keys)

    def train_stream(self, batch_size: int, seed: int):
        held_out = self._held_out_keys()
        pool = solutions(10_000 + seed, self.train_pool, held_out)
        return SudokuTrainStream(pool, held_out, batch_size, seed, self.min_wrong, self.max_wrong)

    def test_examples(self, path=None) -> Examples:
        path = path or default_test_file(self.mode)
        boards, sols, lines = board_io.read_boards(path, need_solution=True)
        return Examples(boards, torch.ones_like(boards, dtype=torch.bool), sols, str(path), lines)

    def prompt_examples(self, path) -> Examples:
        boards, sols, lines = board_io.read_boards(path, need_solution=False)
        gold = board_io.solutions_of_every_line(sols)
        return Examples(boards, torch.ones_like(boards, dtype=torch.bool), gold, str(path), lines)

    # ---- scoring and display ----------------------------------------------------------------
    def metrics(self, examples: Examples, result) -> dict:
        m = sudoku_metrics(examples.inputs, result.tokens, examples.gold, result.trajectory)
        m["remasks_per_board"] = result.remask_total.float().mean().item()
        m["nfe_per_board"] = result.nfe.float().mean().item()
        return m

    def evaluate(self, examples: Examples, result) -> tuple[dict, list]:
        """The metrics rounded (report.METRIC_PLACES): float32 means read 94.9999988079071 in the results JSON;
        counts stay whole numbers."""
        metrics, predictions = super().evaluate(examples, result)
        return round_metrics(metrics), predictions

    def format_output(self, tokens) -> str:
        return board_io.format_board(tokens)

    def render_turns(self, trajectory: torch.Tensor):
        """One 9x9 grid per turn: red '_' = re-masked this turn, green = revealed this turn."""
        out = []
        for s in range(trajectory.shape[0]):
            now, before = trajectory[s], trajectory[max(s - 1, 0)]
            text = Text()
            remasked = int(((before != MASK_ID) & (now == MASK_ID)).sum()) if s else 0
            revealed = int(((before == MASK_ID) & (now != MASK_ID)).sum()) if s else 0
            text.append(f"turn {s}: {remasked} re-masked, {revealed} revealed\n", style="bold")
            for i in range(81):
                token = int(now[i])
                ch = "_" if token == MASK_ID else str(token + 1)
                style = ""
                if s and token == MASK_ID and int(before[i]) != MASK_ID:
                    style = "bold red"
                elif s and token != MASK_ID and int(before[i]) == MASK_ID:
                    style = "bold green"
                text.append(ch, style=style)
                text.append("\n" if i % 9 == 8 else (" | " if i % 3 == 2 else " "))
            out.append(text)
        return out
