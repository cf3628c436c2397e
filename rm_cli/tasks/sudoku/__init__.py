from rm_cli.tasks.sudoku.task import SudokuTask
from rm_cli.tasks.sudoku.solve import SudokuSolveTask  # what SudokuTask(mode="solve") builds

__all__ = ["SudokuSolveTask", "SudokuTask"]
