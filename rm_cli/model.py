"""The denoiser: a backbone plus (optionally) History Reference on its input embeddings.

Training and decoding go through the same three calls, so HR sees the same kind of input in
both: `start(x0)` opens a history, `advance(state, x)` adds a turn, `logits(x, state)` scores.

`logits_from=P` asks for the logits of positions P.. only (the first editable column: a text
prompt is never scored), so the vocabulary-wide head skips the prompt. Both built-in backbones and
HFBackbone take that keyword; any other backbone's logits are sliced after its forward.
"""

import inspect

import torch
from torch import nn

from rm_cli.errors import UserError
from rm_cli.history import HistoryReference, WindowedHistory


def input_embeddings(backbone: nn.Module) -> nn.Embedding:
    """The backbone's token embedding table, or a clear error if it does not expose one."""
    get = getattr(backbone, "get_input_embeddings", None)
    table = get() if callable(get) else None
    if not isinstance(table, nn.Embedding):
        raise UserError(
            f"history is on but backbone {type(backbone).__name__} exposes no input embedding table "
            "(get_input_embeddings()); use history=off"
        )
    return table


class Denoiser(nn.Module):
    def __init__(self, backbone: nn.Module, mask_id: int, history: HistoryReference | WindowedHistory | None = None):
        super().__init__()
        self.backbone, self.mask_id, self.history = backbone, mask_id, history
        self.backbone_slices = "logits_from" in inspect.signature(backbone.forward).parameters
        if history is not None and input_embeddings(backbone).embedding_dim != history.dim:
            raise UserError("history width does not match the backbone's embedding width")

    def _run(self, logits_from: int, **inputs) -> torch.Tensor:
        if logits_from and self.backbone_slices:
            return self.backbone(**inputs, logits_from=logits_from)
        out = self.backbone(**inputs)
        return getattr(out, "logits", out)[:, logits_from:]

    def start(self, x0: torch.Tensor):
        """History state for a decode starting at x0 (None when history is off)."""
        return None if self.history is None else self.history.start(input_embeddings(self.backbone)(x0))

    def advance(self, state, x: torch.Tensor):
        if self.history is None:
            return None
        return self.history.advance(state, input_embeddings(self.backbone)(x))

    def logits(self, x: torch.Tensor, state=None, logits_from: int = 0) -> torch.Tensor:
        if self.history is None:
            return self._run(logits_from, input_ids=x)
        return self._run(logits_from, inputs_embeds=self.history.inputs(state, input_embeddings(self.backbone)(x)))

    def forward_trajectory(self, states: torch.Tensor, t: torch.Tensor, logits_from: int = 0) -> torch.Tensor:
        """Logits for x(t) of each simulated trajectory, with its history x(0..t-1) when HR is on."""
        if self.history is None:
            return self._run(logits_from, input_ids=states[torch.arange(states.shape[0], device=states.device), t])
        state, current = self.history.trajectory_state(input_embeddings(self.backbone), states, t)
        return self._run(logits_from, inputs_embeds=self.history.inputs(state, current))


def first_editable_column(editable: torch.Tensor) -> int:
    """The first position any row of the batch may edit: logits left of it are never read."""
    columns = editable.any(0).nonzero()
    return int(columns[0]) if columns.numel() else 0
