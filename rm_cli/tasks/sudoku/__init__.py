from rm_cli.tasks.sudoku.task import SudokuTask

__all__ = ["SudokuTask"]
