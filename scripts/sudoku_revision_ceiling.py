"""Upper bound on exact-match for the Sudoku-revision test set, for any method.

    python scripts/sudoku_revision_ceiling.py [test_file]

A corrupted board can be as close (Hamming) to another solved grid as to its own solution:
swapping two digits on the corners of a rectangle that spans two boxes gives another solved
grid 4 cells away. Under the test corruption (k cells, uniform wrong digits) the likelihood
of a board depends only on its distance to a grid, so when m other grids are exactly as close
the best any method can do is 1/(m+1), and when one is strictly closer it is more likely than
the solution and the best guess is wrong. Only rectangle swaps are checked: larger
unavoidable sets lower the true ceiling further, so this is an upper bound.
"""

import sys

from rm_cli.tasks.sudoku import SudokuTask
from rm_cli.tasks.sudoku.grid import rectangle_swaps


def ceiling(examples) -> dict:
    expected, ties, closer = 0.0, 0, 0
    for x, g in zip(examples.inputs, examples.gold):
        k = int((x != g).sum())
        distances = [int((x != alt).sum()) for alt in rectangle_swaps(g)]
        if any(d < k for d in distances):
            closer += 1
            continue
        m = sum(d == k for d in distances)
        ties += m > 0
        expected += 1.0 / (m + 1)
    n = len(examples)
    return {"n": n, "boards_with_equally_close_grid": ties, "boards_with_closer_grid": closer,
            "exact_ceiling_pct": 100.0 * expected / n}


if __name__ == "__main__":
    task = SudokuTask()
    print(ceiling(task.test_examples(sys.argv[1] if len(sys.argv) > 1 else None)))
