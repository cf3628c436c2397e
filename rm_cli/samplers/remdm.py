"""ReMDM (Wang et al. 2025, "Remasking Discrete Diffusion Models with Inference-Time Scaling"):
MDLM's reveal schedule plus re-masking of decoded tokens with probability sigma_t.

ReMDM's step from time t to s = t - 1/steps, alpha(t) being the share of decoded positions:
a decoded token is re-masked with probability sigma_t, a masked one is revealed with probability
(alpha_s - (1 - sigma_t) alpha_t) / (1 - alpha_t); any 0 <= sigma_t <= sigma_max =
min(1, (1 - alpha_s) / alpha_t) keeps the decoded share on schedule (alpha(t) = 1 - t). Schedules:

    cap      sigma_t = min(eta, sigma_max)
    rescale  sigma_t = eta * sigma_max
    conf     per token sigma_max * softmax(-confidence) over the decoded tokens: sigma_max
             re-masks per step in expectation, the least confident the likeliest
    loop     MDLM until alpha(t_on) = alpha_on; while t_off < t <= t_on alpha stays at alpha_on
             and sigma_t = eta (re-masking and revealing balance); then MDLM to the end

Temperature 0, like every sampler here: instead of drawing, a turn re-masks ReMDM's expected
number of decoded tokens (accumulated over turns, so fractions add up), choosing the least
probable under this turn's forward pass, and reveals as many masks as put the decoded count on
alpha_s's schedule, the most confident first (as vanilla). All `steps` turns always run, one
forward pass each, so NFE = steps.
"""

import torch

from rm_cli.errors import UserError
from rm_cli.samplers.base import Sampler, TurnContext, best_token, top_k_per_row

SCHEDULES = ("cap", "rescale", "conf", "loop")


class ReMDMSampler(Sampler, name="remdm"):
    turns_option = "steps"

    def __init__(self, steps: int = 16, schedule: str = "cap", eta: float = 0.02, t_on: float = 0.55,
                 t_off: float = 0.05, alpha_on: float = 0.9, fill_at_end: bool = True, stop_at_fixed_point: bool = True):
        super().__init__(max_turns=steps, fill_at_end=fill_at_end, stop_at_fixed_point=stop_at_fixed_point)
        if schedule not in SCHEDULES:
            raise UserError(f"sampler.schedule={schedule!r} is not one of: {', '.join(SCHEDULES)}")
        if not 0.0 <= eta <= 1.0:
            raise UserError(f"sampler.eta must be in [0, 1], got {eta}")
        if schedule == "loop" and not (0.0 < t_off < t_on < 1.0 and 0.0 < alpha_on < 1.0):
            raise UserError(f"loop needs 0 < t_off < t_on < 1 and 0 < alpha_on < 1, got t_off={t_off}, "
                            f"t_on={t_on}, alpha_on={alpha_on}")
        self.steps, self.schedule, self.eta = steps, schedule, eta
        self.t_on, self.t_off, self.alpha_on = t_on, t_off, alpha_on
        self.plan = [self._turn_plan(i) for i in range(steps)]

    def alpha(self, t: float) -> float:
        """Share of decoded positions at time t (decoding runs from t = 1, alpha 0, to t = 0, alpha 1)."""
        if self.schedule != "loop":
            return 1.0 - t
        if t >= self.t_on:
            return self.alpha_on * (1.0 - t) / (1.0 - self.t_on)
        if t > self.t_off:
            return self.alpha_on
        return self.alpha_on + (1.0 - self.alpha_on) * (1.0 - t / self.t_off)

    def _turn_plan(self, turn: int) -> tuple[float, float, float]:
        """(alpha_s, expected re-masks per decoded token, expected re-masks per row) for one turn."""
        t, s = 1.0 - turn / self.steps, 1.0 - (turn + 1) / self.steps
        a_t, a_s = self.alpha(t), self.alpha(s)
        sigma_max = min(1.0, (1.0 - a_s) / a_t) if a_t > 0 else 0.0
        if self.schedule == "cap":
            return a_s, min(self.eta, sigma_max) * a_t, 0.0
        if self.schedule == "rescale":
            return a_s, self.eta * sigma_max * a_t, 0.0
        if self.schedule == "conf":
            return a_s, 0.0, sigma_max
        looping = self.t_off < t <= self.t_on  # sigma_max also ends a loop phase that reaches the last turn
        return a_s, (min(self.eta, sigma_max) * a_t if looping else 0.0), 0.0

    def expected_remasks(self, turn: int, n: torch.Tensor) -> torch.Tensor:
        """[b] re-masks of turns 0..turn together, for rows with n editable positions (on schedule)."""
        per_token = sum(p[1] for p in self.plan[: turn + 1])
        per_row = sum(p[2] for p in self.plan[: turn + 1])
        return n * per_token + per_row

    def decide(self, probs, x, editable, ctx: TurnContext):
        mask_id = ctx.mask_id
        n = editable.sum(-1).double()
        before = self.expected_remasks(ctx.turn - 1, n) if ctx.turn else torch.zeros_like(n)
        due = (self.expected_remasks(ctx.turn, n) + 1e-9).floor() - (before + 1e-9).floor()
        decoded = editable & (x != mask_id)
        n_decoded = decoded.sum(-1)
        remask_k = torch.minimum(due.long(), n_decoded)
        p_current = probs.gather(-1, x.clamp(max=probs.shape[-1] - 1).unsqueeze(-1)).squeeze(-1)
        remask = top_k_per_row(-p_current, decoded, remask_k)

        target = (n * self.plan[ctx.turn][0] + 0.5).floor().long()
        reveal_k = (target - (n_decoded - remask_k)).clamp(min=0)
        conf, tokens = best_token(probs, mask_id)
        reveal = top_k_per_row(conf, editable & (x == mask_id), reveal_k)
        return remask, reveal, tokens

    def done(self, old, new, editable, mask_id):
        """ReMDM's schedule, not a fixed point, ends decoding: every row runs all `steps` turns."""
        return torch.zeros(old.shape[0], dtype=torch.bool, device=old.device)
