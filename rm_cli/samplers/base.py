"""The decoding loop every sampler shares, and the registry that names them.

A sampler only decides, each turn, which positions to re-mask and which masked positions to
reveal (with which token). The loop around it is the same for all: batched, rows that reach a
fixed point stop (and cost no more forward passes), non-editable positions never change,
history (when the model has it) advances with every turn, per-turn counts are recorded. A
sampler sees the columns from the batch's first editable one on (`decide`'s tensors, and the
logits: a text prompt is never scored); positions are relative to that window.

Two options live here because they constrain every sampler alike:
- block_size (semi-autoregressive decoding): the editable positions, in order, are cut into
  blocks of block_size; a turn may reveal only masks of the current block, the first block that
  still holds a mask (a re-masked token of an earlier block makes that block current again).
  Samplers opt in (`reveals_by_block = True`) by choosing reveals among `ctx.revealable`.
- temperature: 0 picks the argmax; > 0 samples tokens from p^(1/T) over the real tokens, with one
  random generator per example seeded by the caller (`seeds`), so an example's draws do not
  depend on which batch it is decoded in.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from rm_cli.config import check_option_types
from rm_cli.errors import UserError, instantiation_cause, unexpected_option
from rm_cli.model import first_editable_column

SAMPLERS: dict[str, type["Sampler"]] = {}


def get_sampler(name: str, **kwargs) -> "Sampler":
    if name not in SAMPLERS:
        raise UserError(f"unknown sampler {name!r}; choose one of: {', '.join(sorted(SAMPLERS))}")
    return SAMPLERS[name](**kwargs)


def samplers_with(flag: str) -> str:
    """The registered samplers whose class sets `flag` ("rm and vanilla"), read from the registry so that a
    message listing them stays right when a sampler is added."""
    names = sorted(name for name, cls in SAMPLERS.items() if getattr(cls, flag))
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def build_sampler(sampler_cfg) -> "Sampler":
    """The sampler a `sampler` config names (`_target_` and options), its refusals as one line: Hydra wraps
    what the constructor raises, and an option the sampler does not take (`+sampler.stpes=3`) was a TypeError."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    check_option_types(sampler_cfg, "sampler")
    try:
        return instantiate(sampler_cfg)
    except InstantiationException as e:
        cause = instantiation_cause(e)
        if isinstance(cause, UserError):
            raise cause from None
        option = unexpected_option(cause)
        if option is None:
            raise
        name = next((n for n, c in SAMPLERS.items() if f"{c.__module__}.{c.__qualname__}" == sampler_cfg.get("_target_")),
                    sampler_cfg.get("_target_"))
        raise UserError(f"sampler.{option} is not an option of sampler {name!r}") from None


def top_k_per_row(score: torch.Tensor, candidates: torch.Tensor, k: torch.Tensor | int) -> torch.Tensor:
    """Boolean mask of the k highest-scoring candidates in each row (k may differ per row)."""
    score = score.masked_fill(~candidates, float("-inf"))
    # stable: tied scores go to the leftmost column, whatever precedes them (a row must not decode differently
    # because the batch it shares starts its editable window earlier)
    rank = score.argsort(dim=-1, descending=True, stable=True).argsort(dim=-1)
    k = torch.as_tensor(k, device=score.device).view(-1, 1) if torch.is_tensor(k) else k
    return candidates & (rank < k)


def best_token(probs: torch.Tensor, mask_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Most probable real token (never the mask token) and its probability."""
    probs = probs.clone()
    probs[..., mask_id] = -1.0
    conf, tok = probs.max(dim=-1)
    return conf, tok


def sampled_token(probs: torch.Tensor, mask_id: int, temperature: float, generators: list,
                  offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A real token drawn from p^(1/T) (one generator per row) and its probability under p. `probs` covers a
    row's columns from `offset` on; each row draws one uniform for every column of the row, offset included, so
    a position's draw depends on its row's seed and turn alone, not on which batch (window) it is decoded in."""
    weights = probs.double().clamp(min=1e-300).log().div(temperature)
    weights[..., mask_id] = float("-inf")
    cdf = weights.softmax(-1).cumsum(-1)
    n = probs.shape[1]
    u = torch.stack([torch.rand(offset + n, generator=g, device=probs.device, dtype=torch.float64)[offset:]
                     for g in generators])
    total = cdf[..., -1:]
    # u * total can round up to the total itself, past every token (and a clamp to the last id could pick MASK
    # when MASK is last): the target stays just under the total, so it lands on a token of positive weight
    target = torch.minimum(u.unsqueeze(-1) * total, torch.nextafter(total, torch.zeros_like(total)))
    tok = torch.searchsorted(cdf, target, right=True).squeeze(-1)
    return probs.gather(-1, tok.unsqueeze(-1)).squeeze(-1), tok


def block_index(editable: torch.Tensor, block_size: int | None) -> torch.Tensor:
    """[B, N] block of each editable position (its rank among the row's editable positions // block_size)."""
    if block_size is None:
        return torch.zeros_like(editable, dtype=torch.long)
    return (editable.long().cumsum(-1) - 1).clamp(min=0) // block_size


def turns_of_block(budget: int, blocks: torch.Tensor, block: torch.Tensor) -> torch.Tensor:
    """[b] turns of a budget that the current block gets: an equal share, the first `budget % blocks` blocks
    one more (so every turn is used), at least one (a budget below the block count runs past it)."""
    share = torch.div(budget, blocks, rounding_mode="floor") + (block < budget % blocks).long()
    return share.clamp(min=1)


@dataclass
class TurnContext:
    turn: int  # 0-based index of this turn
    remask_count: torch.Tensor  # [b, N] re-masks so far per position
    masked_at_start: torch.Tensor  # [b] editable masked positions in x0
    mask_id: int
    revealable: torch.Tensor | None = None  # [b, N] masks this turn may reveal (editable, current block)
    block_turn: torch.Tensor | None = None  # [b] turns spent in the current block so far
    block_masked_at_start: torch.Tensor | None = None  # [b] masks the current block held when it became current
    blocks: torch.Tensor | None = None  # [b] blocks in the row (1 without block decoding)
    block: torch.Tensor | None = None  # [b] index of the current block (0 without block decoding)
    pick: object = None  # pick(probs) -> (confidence, token): argmax or sampled, see Sampler.pick_tokens


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
    reveals_by_block: ClassVar[bool] = False  # decide() reveals only among ctx.revealable: block_size works
    samples_tokens: ClassVar[bool] = False  # decide() takes its tokens from ctx.pick: temperature works
    wraps_another: ClassVar[bool] = False  # runs another sampler (best_of): compared only when named
    one_task: ClassVar[bool] = False  # decodes one task's layout (rm_edit: image edits): compared only when named
    turns_option: ClassVar[str] = "max_turns"  # the config key that sets max_turns (vanilla's and remdm's: steps)

    def __init_subclass__(cls, name: str = "", **kw):
        super().__init_subclass__(**kw)
        for flag in ("reveals_by_block", "samples_tokens"):  # each class opts in itself, not through a parent
            if flag not in cls.__dict__:
                setattr(cls, flag, False)
        if name:
            cls.name = name
            SAMPLERS[name] = cls

    def __init__(self, max_turns: int = 32, fill_at_end: bool = True, stop_at_fixed_point: bool = True,
                 block_size: int | None = None, temperature: float = 0.0):
        if max_turns < 1:
            raise UserError(f"sampler.{self.turns_option} must be >= 1, got {max_turns}")
        if block_size is not None and (block_size < 1 or not self.reveals_by_block):
            raise UserError(f"sampler.block_size must be null or >= 1 (and only {samplers_with('reveals_by_block')} "
                            f"decode by block), got {block_size} for sampler {self.name!r}")
        if temperature < 0:
            raise UserError(f"sampler.temperature must be >= 0, got {temperature}")
        if temperature > 0 and not self.samples_tokens:
            raise UserError(f"sampler {self.name!r} decodes at temperature 0 only ({samplers_with('samples_tokens')} "
                            f"sample), got sampler.temperature={temperature}")
        self.max_turns, self.fill_at_end, self.stop_at_fixed_point = max_turns, fill_at_end, stop_at_fixed_point
        self.block_size, self.temperature = block_size, float(temperature)

    def pick_tokens(self, probs: torch.Tensor, mask_id: int, generators, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """(confidence, token) per position: the argmax at temperature 0, else a draw from each row's generator
        (`probs` covers the columns from `offset` on)."""
        if self.temperature == 0 or generators is None:
            return best_token(probs, mask_id)
        return sampled_token(probs, mask_id, self.temperature, generators, offset)

    def decide(self, probs, x, editable, ctx: TurnContext):
        """Returns (remask [b,N] bool, reveal [b,N] bool, tokens [b,N]) for the active rows; N counts
        the columns from the batch's first editable one (probs, x, editable and ctx cover those)."""
        raise NotImplementedError

    def done(self, old, new, editable, mask_id) -> torch.Tensor:
        """[b] rows that need no further turn: by default, those whose state reached a fixed point."""
        return (new == old).all(-1)

    @torch.no_grad()
    def __call__(self, model, x0: torch.Tensor, editable: torch.Tensor, record_trajectory: bool = False,
                 seeds: torch.Tensor | None = None, on_turn: Callable[[float], None] | None = None) -> SampleResult:
        """seeds: [B] one per example (temperature > 0); None: 0..B-1. on_turn(share): called after each turn
        with the share of the batch's work done (see share_done), so a long batch reports before it ends."""
        mask_id = model.mask_id
        x, editable = x0.clone(), editable.bool()
        B = x.shape[0]
        generators = None
        if self.temperature > 0:
            seeds = torch.arange(B) if seeds is None else seeds
            generators = [torch.Generator(device=x.device).manual_seed(int(s)) for s in seeds]
        state = model.start(x)
        # Decisions cover the columns from the batch's first editable one on (the window); nothing
        # left of it may change, so neither its logits nor its probabilities are computed.
        w = first_editable_column(editable)
        ew_all = editable[:, w:]
        active = torch.ones(B, dtype=torch.bool, device=x.device)
        remask_count = torch.zeros_like(x[:, w:])
        masked_at_start = (editable & (x == mask_id)).sum(-1)
        block = block_index(editable, self.block_size)
        blocks = torch.where(editable, block + 1, 0).amax(-1).clamp(min=1)
        block = block[:, w:]
        current = torch.full((B,), -1, dtype=torch.long, device=x.device)
        block_turn = torch.zeros(B, dtype=torch.long, device=x.device)
        block_masked = torch.zeros(B, dtype=torch.long, device=x.device)
        nfe = torch.zeros(B, dtype=torch.long, device=x.device)
        # per-turn counts (kept, re-masked, revealed), allocated once: a small tensor kept from every
        # turn would sit between the turns' large freed activations and fragment the heap
        counts = torch.zeros(3, self.max_turns, B, dtype=torch.long, device=x.device)
        turns_run, rows = 0, []
        trajectory = [x.clone()] if record_trajectory else None
        for turn in range(self.max_turns):
            idx = active.nonzero().squeeze(1)
            if idx.numel() == 0:
                break
            xa, ea = x[idx], ew_all[idx]
            xw = xa[:, w:]
            sa = None if state is None else state[idx]
            probs = model.logits(xa, sa, logits_from=w).float().softmax(-1)
            nfe[idx] += 1
            rows.append(idx.numel())
            # The current block: the first one that still holds a mask (counters restart when it changes).
            masked = ea & (xw == mask_id)
            now = torch.where(masked, block[idx], torch.iinfo(torch.long).max).amin(-1)
            revealable = masked & (block[idx] == now.unsqueeze(-1))
            moved = now != current[idx]
            current[idx] = now
            block_turn[idx] = torch.where(moved, 0, block_turn[idx] + 1)
            block_masked[idx] = torch.where(moved, revealable.sum(-1), block_masked[idx])
            gens = None if generators is None else [generators[i] for i in idx.tolist()]
            ctx = TurnContext(turn, remask_count[idx], masked_at_start[idx], mask_id, revealable, block_turn[idx],
                              block_masked[idx], blocks[idx], now, lambda p, g=gens: self.pick_tokens(p, mask_id, g, w))
            remask, reveal, tokens = self.decide(probs, xw, ea, ctx)
            remask, reveal = remask & ea & (xw != mask_id), reveal & revealable
            new_w = torch.where(reveal, tokens, xw).masked_fill(remask, mask_id)
            new = torch.cat([xa[:, :w], new_w], dim=1)
            x[idx] = new
            remask_count[idx] += remask.long()
            if state is not None:
                state[idx] = model.advance(sa, new)
            for i, sel in enumerate((ea & (xw != mask_id) & ~remask, remask, reveal)):
                counts[i, turn, idx] = sel.sum(-1)
            turns_run = turn + 1
            if self.stop_at_fixed_point:
                active[idx] = ~self.done(xw, new_w, ea, mask_id)
            if record_trajectory:
                trajectory.append(x.clone())
            if on_turn is not None:
                on_turn(self.share_done(x, editable, mask_id, masked_at_start, active, turns_run))
        if self.fill_at_end:
            self._fill_remaining(model, x, editable, state, nfe, rows, generators)
            if record_trajectory and not torch.equal(trajectory[-1], x):
                trajectory.append(x.clone())
        counts = counts[:, :turns_run]
        return SampleResult(
            tokens=x,
            nfe=nfe,
            kept=counts[0],
            remasked=counts[1],
            revealed=counts[2],
            trajectory=torch.stack(trajectory) if record_trajectory else None,
            forward_rows=rows,
        )

    def share_done(self, x, editable, mask_id: int, masked_at_start, active, turns_run: int) -> float:
        """Mean over the rows of how far each got: 1 once it stopped, else the larger of its share of masks
        filled (if it started with any) and its share of the turn budget. Masks filled follows samplers that
        stop at a fixed point long before max_turns (rm_text: 33 turns of 128 on a 32-token answer)."""
        filled = 1 - (editable & (x == mask_id)).sum(-1) / masked_at_start.clamp(min=1)
        filled = filled.masked_fill(masked_at_start == 0, 0.0)  # a board with no mask (revision): turns alone
        row = torch.where(active, filled.clamp(min=turns_run / self.max_turns), 1.0)
        return float(row.mean())

    def _fill_remaining(self, model, x, editable, state, nfe, rows, generators=None):
        """Positions still masked when the turn budget runs out get a token (argmax, or a draw at T > 0) in one more pass."""
        still = editable & (x == model.mask_id)
        idx = still.any(-1).nonzero().squeeze(1)
        if idx.numel() == 0:
            return
        w = first_editable_column(editable)
        probs = model.logits(x[idx], None if state is None else state[idx], logits_from=w).float().softmax(-1)
        _, tok = self.pick_tokens(probs, model.mask_id, None if generators is None else [generators[i] for i in idx.tolist()], w)
        x[idx, w:] = torch.where(still[idx, w:], tok, x[idx, w:])
        nfe[idx] += 1
        rows.append(idx.numel())


def to_cpu(result: SampleResult) -> SampleResult:
    """The same result with its tensors on the CPU (decoding may run on an accelerator)."""
    move = lambda t: None if t is None else t.cpu()  # noqa: E731
    return SampleResult(move(result.tokens), move(result.nfe), move(result.kept), move(result.remasked),
                        move(result.revealed), move(result.trajectory), list(result.forward_rows))


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
