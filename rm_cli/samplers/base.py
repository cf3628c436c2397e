"""The decoding loop every sampler shares, and the registry that names them.

A sampler only decides, each turn, which positions to re-mask and which masked positions to
reveal (with which token). The loop around it is the same for all: batched, rows that reach a
fixed point stop (and cost no more forward passes), non-editable positions never change,
history (when the model has it) advances with every turn, per-turn counts are recorded.
"""

from dataclasses import dataclass, field
from typing import ClassVar

import torch

from rm_cli.errors import UserError

SAMPLERS: dict[str, type["Sampler"]] = {}


def get_sampler(name: str, **kwargs) -> "Sampler":
    if name not in SAMPLERS:
        raise UserError(f"unknown sampler {name!r}; choose one of: {', '.join(sorted(SAMPLERS))}")
    return SAMPLERS[name](**kwargs)


def top_k_per_row(score: torch.Tensor, candidates: torch.Tensor, k: torch.Tensor | int) -> torch.Tensor:
    """Boolean mask of the k highest-scoring candidates in each row (k may differ per row)."""
    score = score.masked_fill(~candidates, float("-inf"))
    rank = score.argsort(dim=-1, descending=True).argsort(dim=-1)
    k = torch.as_tensor(k, device=score.device).view(-1, 1) if torch.is_tensor(k) else k
    return candidates & (rank < k)


def best_token(probs: torch.Tensor, mask_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Most probable real token (never the mask token) and its probability."""
    probs = probs.clone()
    probs[..., mask_id] = -1.0
    conf, tok = probs.max(dim=-1)
    return conf, tok


@dataclass
class TurnContext:
    turn: int  # 0-based index of this turn
    remask_count: torch.Tensor  # [b, N] re-masks so far per position
    masked_at_start: torch.Tensor  # [b] editable masked positions in x0
    mask_id: int


@dataclass
class SampleResult:
    tokens: torch.Tensor  # [B, N] final state
    nfe: torch.Tensor  # [B] forward passes spent on each example
    kept: torch.Tensor  # [turns, B] visible editable tokens kept, per turn
    remasked: torch.Tensor  # [turns, B]
    revealed: torch.Tensor  # [turns, B]
    trajectory: torch.Tensor | None = None  # [turns + 1, B, N] states, when recorded
    forward_rows: list = field(default_factory=list)  # batch rows of each forward call

    @property
    def remask_total(self) -> torch.Tensor:
        return self.remasked.sum(0)


class Sampler:
    name: ClassVar[str] = ""

    def __init_subclass__(cls, name: str = "", **kw):
        super().__init_subclass__(**kw)
        if name:
            cls.name = name
            SAMPLERS[name] = cls

    def __init__(self, max_turns: int = 32, fill_at_end: bool = True, stop_at_fixed_point: bool = True):
        if max_turns < 1:
            raise UserError(f"sampler.max_turns must be >= 1, got {max_turns}")
        self.max_turns, self.fill_at_end, self.stop_at_fixed_point = max_turns, fill_at_end, stop_at_fixed_point

    def decide(self, probs, x, editable, ctx: TurnContext):
        """Returns (remask [b,N] bool, reveal [b,N] bool, tokens [b,N]) for the active rows."""
        raise NotImplementedError

    def done(self, old, new, editable, mask_id) -> torch.Tensor:
        """[b] rows that need no further turn: by default, those whose state reached a fixed point."""
        return (new == old).all(-1)

    @torch.no_grad()
    def __call__(self, model, x0: torch.Tensor, editable: torch.Tensor, record_trajectory: bool = False) -> SampleResult:
        mask_id = model.mask_id
        x, editable = x0.clone(), editable.bool()
        B = x.shape[0]
        state = model.start(x)
        active = torch.ones(B, dtype=torch.bool, device=x.device)
        remask_count = torch.zeros_like(x)
        masked_at_start = (editable & (x == mask_id)).sum(-1)
        nfe = torch.zeros(B, dtype=torch.long, device=x.device)
        kept, remasked, revealed, rows = [], [], [], []
        trajectory = [x.clone()] if record_trajectory else None
        for turn in range(self.max_turns):
            idx = active.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            xa, ea = x[idx], editable[idx]
            sa = None if state is None else state[idx]
            probs = model.logits(xa, sa).float().softmax(-1)
            nfe[idx] += 1
            rows.append(idx.numel())
            ctx = TurnContext(turn, remask_count[idx], masked_at_start[idx], mask_id)
            remask, reveal, tokens = self.decide(probs, xa, ea, ctx)
            remask, reveal = remask & ea & (xa != mask_id), reveal & ea & (xa == mask_id)
            new = torch.where(reveal, tokens, xa).masked_fill(remask, mask_id)
            x[idx] = new
            remask_count[idx] += remask.long()
            if state is not None:
                state[idx] = model.advance(sa, new)
            for store, sel in ((kept, ea & (xa != mask_id) & ~remask), (remasked, remask), (revealed, reveal)):
                count = torch.zeros(B, dtype=torch.long, device=x.device)
                count[idx] = sel.sum(-1)
                store.append(count)
            if self.stop_at_fixed_point:
                active[idx] = ~self.done(xa, new, ea, mask_id)
            if record_trajectory:
                trajectory.append(x.clone())
        if self.fill_at_end:
            self._fill_remaining(model, x, editable, state, nfe, rows)
            if record_trajectory and not torch.equal(trajectory[-1], x):
                trajectory.append(x.clone())
        stack = lambda xs: torch.stack(xs) if xs else torch.zeros(0, B, dtype=torch.long)  # noqa: E731
        return SampleResult(
            tokens=x,
            nfe=nfe,
            kept=stack(kept),
            remasked=stack(remasked),
            revealed=stack(revealed),
            trajectory=torch.stack(trajectory) if record_trajectory else None,
            forward_rows=rows,
        )

    def _fill_remaining(self, model, x, editable, state, nfe, rows):
        """Positions still masked when the turn budget runs out get their argmax (one more pass)."""
        still = editable & (x == model.mask_id)
        idx = still.any(-1).nonzero().squeeze(1)
        if idx.numel() == 0:
            return
        probs = model.logits(x[idx], None if state is None else state[idx]).float().softmax(-1)
        _, tok = best_token(probs, model.mask_id)
        x[idx] = torch.where(still[idx], tok, x[idx])
        nfe[idx] += 1
        rows.append(idx.numel())


def concat_results(results: list[SampleResult]) -> SampleResult:
    """Join per-batch results; shorter runs are padded (counts with 0, states with their last state)."""
    turns = max(r.kept.shape[0] for r in results)

    def pad_counts(c):
        return torch.cat([c, c.new_zeros(turns - c.shape[0], c.shape[1])]) if c.shape[0] < turns else c

    trajectory = None
    if all(r.trajectory is not None for r in results):
        steps = max(r.trajectory.shape[0] for r in results)
        padded = [torch.cat([r.trajectory, r.trajectory[-1:].expand(steps - r.trajectory.shape[0], -1, -1)]) for r in results]
        trajectory = torch.cat(padded, dim=1)
    return SampleResult(
        tokens=torch.cat([r.tokens for r in results]),
        nfe=torch.cat([r.nfe for r in results]),
        kept=torch.cat([pad_counts(r.kept) for r in results], dim=1),
        remasked=torch.cat([pad_counts(r.remasked) for r in results], dim=1),
        revealed=torch.cat([pad_counts(r.revealed) for r in results], dim=1),
        trajectory=trajectory,
        forward_rows=[n for r in results for n in r.forward_rows],
    )
