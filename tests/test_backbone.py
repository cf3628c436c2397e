import pytest
import torch

from rm_cli.backbone import TransformerBackbone
from rm_cli.errors import UserError
from rm_cli.tasks.sudoku.task import SudokuTask


def one_layer(attention: str) -> TransformerBackbone:
    torch.manual_seed(0)
    coords = SudokuTask(mode="solve").coordinates()
    return TransformerBackbone(vocab_size=11, seq_len=81, d_model=16, n_layers=1, n_heads=2,
                               coordinates=coords, attention=attention).eval()


def changed_outputs_at_cell_0(backbone: TransformerBackbone, cell: int) -> bool:
    """Does changing `cell`'s token change cell 0's logits (one layer: only what cell 0 attends to)?"""
    board = torch.full((1, 81), 10)
    other = board.clone()
    other[0, cell] = 3
    with torch.no_grad():
        return not torch.allclose(backbone(board)[0, 0], backbone(other)[0, 0])


@pytest.mark.parametrize("cell", [8, 72, 20])  # cell 0's row, column, box
def test_peers_attention_sees_the_row_column_and_box(cell):
    assert changed_outputs_at_cell_0(one_layer("peers"), cell)


@pytest.mark.parametrize("cell", [80, 40, 31])  # no shared row, column or box with cell 0
def test_peers_attention_ignores_cells_outside_the_constraints(cell):
    assert not changed_outputs_at_cell_0(one_layer("peers"), cell)
    assert changed_outputs_at_cell_0(one_layer("full"), cell)


def test_peers_attention_needs_coordinates_and_a_known_name():
    with pytest.raises(UserError, match="needs a task with cell coordinates"):
        TransformerBackbone(vocab_size=11, seq_len=9, d_model=16, n_layers=1, n_heads=2, attention="peers")
    with pytest.raises(UserError, match="is not one of: full, peers"):
        TransformerBackbone(vocab_size=11, seq_len=9, d_model=16, n_layers=1, n_heads=2, attention="sparse")
