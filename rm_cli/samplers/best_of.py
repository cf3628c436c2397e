"""Best of several views: test-time scaling that needs no verifier, only the model.

Each board is decoded `views` times by a base sampler (a preset in conf/sampler/), each time under
another element of the task's symmetry group (Sudoku: digit relabelling, band/stack/row/column
permutations, transpose; the first view is always the board as given). A symmetric copy is the
same problem, but the model meets it in another order and makes its mistakes elsewhere. Each
decode is mapped back and scored by the model itself, the summed log p(token) of its editable
positions, and the most likely one is kept. Two scores, because the two training objectives teach
different outputs:
- `score: masked` (score_parts passes a view): the editable positions are split at random into
  score_parts groups, each masked in turn and its tokens scored. This is what the masked-diffusion
  objective trains, the only score it makes reliable (on a model trained with it for 3,400 steps
  the board score picked worse than one view alone on hard puzzles on one seed, the masked one within
  a point of the oracle on every seed: docs/results/sudoku_solving.md, step 23).
- `score: board` (one pass): the completed board as it is. Only RM training teaches the outputs at
  visible positions (keep or re-mask), so this suits RM models and is cheaper.

The budget (`steps`, what `rm eval scaling=true` sets) is the whole board's: each view's base
sampler gets steps // views minus the scoring passes (views=1 is the base sampler, unscored).
With `symmetry: null` the views differ only in their random draws, which needs a base sampler that
samples (temperature > 0): text, for instance. Example i's symmetries and score split come from its own
seed s_i (from `rm eval`) and its view v samples with seed s_i * views + v, so a board's result never
depends on its batch.
"""

import torch
from omegaconf import OmegaConf

from rm_cli.config import sampler_preset
from rm_cli.errors import UserError
from rm_cli.samplers.base import SampleResult, Sampler, build_sampler, concat_results


class BestOfSampler(Sampler, name="best_of"):
    wraps_another = True

    def __init__(self, base: str = "topk_margin", views: int = 4, steps: int = 256, symmetry=None,
                 base_overrides: dict | None = None, score: str = "masked", score_parts: int = 4):
        super().__init__()
        if views < 1:
            raise UserError(f"sampler.views must be >= 1, got {views}")
        if score not in ("masked", "board"):
            raise UserError(f"sampler.score must be masked or board, got {score!r}")
        if score == "masked" and score_parts < 2:
            raise UserError(f"sampler.score_parts must be >= 2 (each part masks a share of the blanks), got {score_parts}")
        self.score_passes = 1 if score == "board" else score_parts
        per_view = steps if views == 1 else steps // views - self.score_passes
        if per_view < 1:
            raise UserError(f"sampler.steps={steps} leaves no pass for {views} views (each needs one to decode "
                            f"and {self.score_passes} to be scored: steps >= {(1 + self.score_passes) * views})")
        if base == self.name or not sampler_preset(base).is_file():
            raise UserError(f"sampler.base must be a sampler preset in conf/sampler/ other than best_of, got {base!r}")
        from rm_cli.scaling import with_budget  # scaling imports the registry, which imports this module

        cfg = OmegaConf.merge(OmegaConf.load(sampler_preset(base)), base_overrides or {})
        self.base = build_sampler(with_budget(cfg, per_view))
        if views > 1 and symmetry is None and self.base.temperature == 0:
            raise UserError("sampler=best_of with symmetry=null needs a base sampler that samples "
                            "(sampler.base_overrides.temperature > 0): at temperature 0 every view is the same decode")
        self.views, self.steps, self.symmetry, self.score = views, steps, symmetry, score

    def draw_views(self, x0: torch.Tensor, mask_id: int, seeds: torch.Tensor):
        """(index [views*B, N], relabel [views*B, V]), view-major: row v*B + i is view v of example i; None
        without a symmetry (every view is the board as given)."""
        if self.symmetry is None:
            return None
        self.symmetry.check(x0, mask_id)
        B, N = x0.shape
        index = torch.arange(N).expand(self.views, B, N).clone()
        relabel = torch.arange(self.symmetry.vocab).expand(self.views, B, -1).clone()
        for i, seed in enumerate(seeds.tolist()):  # one generator per example: a view never depends on the batch
            index[1:, i], relabel[1:, i] = self.symmetry.draw(self.views - 1, torch.Generator().manual_seed(seed))
        return index.view(-1, N).to(x0.device), relabel.view(B * self.views, -1).to(x0.device)

    def to_board(self, tokens: torch.Tensor, view) -> torch.Tensor:
        """Decoded rows back in their board's own frame."""
        return tokens if view is None else self.symmetry.undo(tokens, *view)

    @torch.no_grad()
    def __call__(self, model, x0, editable, record_trajectory: bool = False, seeds=None, on_turn=None) -> SampleResult:
        if self.views == 1:
            return self.base(model, x0, editable, record_trajectory, seeds=seeds, on_turn=on_turn)
        B, K = x0.shape[0], self.views
        seeds = torch.arange(B) if seeds is None else seeds.cpu()
        out, view = self.decode_views(model, x0, editable, seeds, record_trajectory, on_turn)
        tokens = self.to_board(out.tokens, view)
        score = self.score_views(model, tokens, editable.repeat(K, 1), seeds)
        best = score.view(K, B).argmax(0)  # the first view wins a tie: the board as given
        rows = best * B + torch.arange(B, device=best.device)
        trajectory = None
        if record_trajectory:
            T = out.trajectory.shape[0]
            picked = None if view is None else tuple(part[rows].repeat(T, 1) for part in view)
            trajectory = self.to_board(out.trajectory[:, rows].reshape(T * B, -1), picked).view(T, B, -1)
        return SampleResult(tokens=tokens[rows], nfe=out.nfe.view(K, B).sum(0) + K * self.score_passes, kept=out.kept[:, rows],
                            remasked=out.remasked[:, rows], revealed=out.revealed[:, rows], trajectory=trajectory,
                            forward_rows=out.forward_rows + [K * B] * self.score_passes)

    def decode_views(self, model, x0, editable, seeds: torch.Tensor, record_trajectory: bool = False, on_turn=None):
        """(the base sampler's result on every view, view-major, tokens in the view's own frame; the views'
        transforms, None without a symmetry). on_turn gets the share of all the views' turns spent."""
        B, K = x0.shape[0], self.views
        view = self.draw_views(x0, model.mask_id, seeds)
        xs, es = x0.repeat(K, 1), editable.repeat(K, 1)
        if view is not None:
            xs, es = self.symmetry.apply(xs, *view), self.symmetry.apply(es, view[0])
        view_seeds = (seeds.repeat(K) * K + torch.arange(K).repeat_interleave(B)).to(x0.device)
        # one view at a time: a batch of views x rows would multiply the attention's working memory by views
        def view_turns(v):
            return None if on_turn is None else lambda share: on_turn((v + share) / K)

        out = concat_results([self.base(model, xs[v * B:(v + 1) * B], es[v * B:(v + 1) * B], record_trajectory,
                                        seeds=view_seeds[v * B:(v + 1) * B], on_turn=view_turns(v)) for v in range(K)])
        return out, view

    def score_views(self, model, tokens: torch.Tensor, editable: torch.Tensor, seeds: torch.Tensor,
                    score: str | None = None) -> torch.Tensor:
        """[m * B] a score (default: this sampler's) of m boards an example (view-major, in the boards' own frame)."""
        if (score or self.score) == "board":
            return self.log_likelihood(model, tokens, editable)
        part = self.parts(tokens.shape[1], seeds).repeat(tokens.shape[0] // len(seeds), 1)
        return self.masked_log_likelihood(model, tokens, editable, part, self.score_passes)

    def parts(self, positions: int, seeds: torch.Tensor) -> torch.Tensor:
        """[B, N] which scoring pass masks each position; example i's split comes from its own seed, and all
        its views share it (so they are compared on the same masks) once mapped back."""
        return torch.stack([torch.randint(self.score_passes, (positions,), generator=torch.Generator().manual_seed(seed))
                            for seed in seeds.tolist()])

    @staticmethod
    def masked_log_likelihood(model, tokens: torch.Tensor, editable: torch.Tensor, part: torch.Tensor,
                              parts: int) -> torch.Tensor:
        """[R] summed log p(token) over the editable positions of completed boards, each scored with its part of
        them masked (one forward pass a part): the masked-diffusion objective's own question."""
        total = torch.zeros(tokens.shape[0], device=tokens.device)
        for p in range(parts):
            hidden = editable & (part.to(tokens.device) == p)
            total += (token_log_probs(model, tokens.masked_fill(hidden, model.mask_id), tokens) * hidden).sum(-1)
        return total

    @staticmethod
    def log_likelihood(model, tokens: torch.Tensor, editable: torch.Tensor) -> torch.Tensor:
        """[R] summed log p(token) over the editable positions of completed boards, one forward pass."""
        return (token_log_probs(model, tokens, tokens) * editable).sum(-1)


def token_log_probs(model, shown: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """[R, N] log p(tokens) at every position, the model shown `shown` (tokens, or tokens partly masked)."""
    logp = model.logits(shown, model.start(shown)).float().log_softmax(-1)
    return logp.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
