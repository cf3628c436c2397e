"""A small bidirectional transformer: the from-scratch backbone for Sudoku and tiny text models.

It follows the Hugging Face calling convention (`input_ids` or `inputs_embeds`,
`get_input_embeddings()`), so History Reference treats it exactly like a pretrained HF model.
`logits_from=P` returns the logits of positions P.. only: the head is not run on a prompt whose
logits nobody reads (rm_cli/model.py).
"""

import torch
from torch import nn

from rm_cli.errors import UserError


ATTENTION = ("full", "peers")


class TransformerBackbone(nn.Module):
    """Token + learned position embeddings, a pre-norm encoder without causal mask, a linear head.

    The head covers the whole vocabulary, mask token included: p(MASK) is what Reflective
    Masking compares against p(current token).

    `coordinates` ([axes, seq_len] integers, from the task) factor the position embedding into
    one learned table per axis, summed: a Sudoku cell is (row, column, box), an image token
    (row, column). None means one axis, the absolute position.

    `attention="peers"` lets a position attend only to positions that share a coordinate with it:
    on Sudoku a cell sees its row, column and box, the 20 cells its constraints involve, so each
    layer is one step of constraint propagation instead of something learnt from 81 x 81 pairs.
    (`option_choices`: see Task.option_choices.)
    """

    option_choices = {"attention": ATTENTION}

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        d_model: int = 128,
        n_layers: int = 4,
        n_heads: int = 4,
        ffn_mult: int = 4,
        dropout: float = 0.0,
        coordinates: torch.Tensor | None = None,
        attention: str = "full",
    ):
        super().__init__()
        if d_model % n_heads:
            raise UserError(f"backbone.d_model={d_model} is not divisible by backbone.n_heads={n_heads}")
        self.vocab_size, self.seq_len = vocab_size, seq_len
        self.embed_tokens = nn.Embedding(vocab_size, d_model)
        if coordinates is None:
            coordinates = torch.arange(seq_len).unsqueeze(0)
        coordinates = torch.as_tensor(coordinates, dtype=torch.long)
        if coordinates.dim() != 2 or coordinates.shape[1] != seq_len or coordinates.min() < 0:
            raise ValueError(f"coordinates must be non-negative integers of shape [axes, {seq_len}]")
        self.register_buffer("coordinates", coordinates, persistent=False)
        if attention not in ATTENTION:
            raise UserError(f"backbone.attention={attention!r} is not one of: {', '.join(ATTENTION)}")
        if attention == "peers" and coordinates.shape[0] < 2:
            raise UserError("backbone.attention=peers needs a task with cell coordinates (rows, columns, ...)")
        # True where attention is blocked (PyTorch's boolean mask convention); None: every pair
        blocked = None if attention == "full" else ~(coordinates[:, :, None] == coordinates[:, None, :]).any(0)
        self.register_buffer("blocked", blocked, persistent=False)
        self.embed_positions = nn.ModuleList(nn.Embedding(int(axis.max()) + 1, d_model) for axis in coordinates)
        layer = nn.TransformerEncoderLayer(
            d_model,
            n_heads,
            ffn_mult * d_model,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed_tokens

    def forward(self, input_ids=None, inputs_embeds=None, logits_from: int = 0) -> torch.Tensor:
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        h = self.embed_tokens(input_ids) if inputs_embeds is None else inputs_embeds
        if h.shape[1] > self.seq_len:
            raise ValueError(f"sequence of {h.shape[1]} tokens is longer than the backbone's seq_len={self.seq_len}")
        n = h.shape[1]
        h = h + sum(table(axis[:n]) for table, axis in zip(self.embed_positions, self.coordinates))
        mask = None if self.blocked is None else self.blocked[:n, :n]
        return self.head(self.norm(self.encoder(h, mask=mask)[:, logits_from:]))
