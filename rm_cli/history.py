"""History Reference (HR) and History Embedding Rotation (HER), SPEC §3.

The input at a position is a decayed, rotated sum of the embeddings of every token that
position has held, computed by the O(N*d) recurrence

    a(t) = E(x(t)) + gamma * R_(-1) a(t-1),    a(0) = E(x(0))

which equals the explicit sum  sum_k gamma^(t-k) R_(k-t) E(x(k)), then a weightless RMSNorm.
Nothing here has parameters: E is the backbone's own embedding table.

By default (`history.rescale=true`) the weightless RMSNorm output is rescaled, per position, to the
RMS of the current token's own embedding E(x(t)). A pretrained backbone thus sees inputs at the scale
it was trained on (a BERT embedding has RMS ~0.05, not 1), and at t = 0, with no history yet, the
input is exactly E(x(0)): HR changes nothing until a position has a past. `history.rescale=false`
is the paper's plain weightless RMSNorm (inputs at RMS 1).
"""

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf
from torch import nn

from rm_cli.errors import UserError


def rope_frequencies(dim: int, base: float = 10000.0) -> torch.Tensor:
    """The RoPE angle per 2-D block: theta_j = base^(-2j/dim), j < dim/2."""
    if dim % 2:
        raise ValueError(f"HER rotation needs an even embedding width, got {dim}")
    return base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)


def rotate(x: torch.Tensor, lag: float, freqs: torch.Tensor) -> torch.Tensor:
    """R_lag x: rotate each (x[j], x[j + d/2]) pair by lag * theta_j (the 'rotate half' layout)."""
    angle = lag * freqs
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class HistoryReference(nn.Module):
    """Turns a position's token history into one input embedding; holds no trainable parameters.

    The interface the Denoiser uses (shared with WindowedHistory): `start(e0)` opens a state,
    `advance(state, e)` adds a turn, `inputs(state, e_current)` gives the backbone's input, and
    `trajectory_state(embed, states, t)` builds (state, e_current) for simulated trajectories.
    """

    def __init__(self, dim: int, gamma: float = 1.0, rotate: bool = False, rope_base: float = 10000.0, eps: float = 1e-6,
                 rescale: bool = True):
        super().__init__()
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"history.gamma must be in (0, 1], got {gamma}")
        self.dim, self.gamma, self.rotates, self.eps, self.rescale = dim, float(gamma), bool(rotate), eps, bool(rescale)
        freqs = rope_frequencies(dim, rope_base) if rotate else torch.zeros(dim // 2, dtype=torch.float64)
        angle = -freqs  # R_(-1): one step back in time
        self.register_buffer("cos", angle.cos().float(), persistent=False)
        self.register_buffer("sin", angle.sin().float(), persistent=False)

    def step_back(self, a: torch.Tensor) -> torch.Tensor:
        """gamma * R_(-1) a: age the running aggregate by one turn."""
        if self.rotates:
            cos, sin = self.cos.to(a.dtype), self.sin.to(a.dtype)
            a1, a2 = a.chunk(2, dim=-1)
            a = torch.cat((a1 * cos - a2 * sin, a2 * cos + a1 * sin), dim=-1)
        return self.gamma * a

    def update(self, previous: torch.Tensor | None, embedded: torch.Tensor) -> torch.Tensor:
        """a(t) from a(t-1) and E(x(t)); `previous=None` starts a history."""
        return embedded if previous is None else embedded + self.step_back(previous)

    def normalize(self, a: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        """The backbone's input: weightless RMSNorm of a(t), at the RMS of `current` = E(x(t)) (rescale) or 1."""
        normed = F.rms_norm(a, (a.shape[-1],), eps=self.eps)
        return normed * current.pow(2).mean(-1, keepdim=True).add(self.eps).sqrt() if self.rescale else normed

    def start(self, e0: torch.Tensor) -> torch.Tensor:
        return self.update(None, e0)

    def advance(self, state: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return self.update(state, e)

    def inputs(self, state: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        return self.normalize(state, current)

    def trajectory_state(self, embed: nn.Embedding, states: torch.Tensor, t: torch.Tensor):
        return self.aggregate(embed, states, t)

    def aggregate(self, embed: nn.Embedding, states: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(a(t_b), E(x(t_b))) for each example b of a batch of trajectories.

        states: [B, T, N] token ids, t: [B] index of the current state. Each example runs the
        same recurrence as the sampler, frozen once k passes its own t_b. Two things make it cheaper than
        stepping `update` (the history was a tenth of an RM + HER training step): E(x(t_b)) is looked up once,
        not selected turn by turn, and the rotation is written a * C + roll(a) * S (C = gamma [cos, cos],
        S = gamma [-sin, sin]), step_back's numbers up to float rounding (decoding keeps step_back).
        """
        c, s = self.cos.to(embed.weight.dtype), self.sin.to(embed.weight.dtype)
        C, S = self.gamma * torch.cat((c, c)), self.gamma * torch.cat((-s, s))
        a = None
        for k in range(int(t.max()) + 1):
            e = embed(states[:, k])
            if a is None:
                a = e
                continue
            new = e + a * C + a.roll(self.dim // 2, dims=-1) * S if self.rotates else e + self.gamma * a
            a = torch.where((k <= t).view(-1, 1, 1), new, a)
        return a, embed(states.gather(1, t.view(-1, 1, 1).expand(-1, 1, states.shape[2])).squeeze(1))


class WindowedHistory(nn.Module):
    """The released code's History Reference (SPEC §3), where it departs from the paper.

    It keeps the last `window` states explicitly, weighs lag d (1..window) by
    exp(-decay * (d - 1)), normalises the weighted sum with a LayerNorm with learned affine
    (2 * dim parameters) and *adds* it to the current token's embedding instead of replacing
    it. The released code adds it on answer positions only; here it is added everywhere: a
    fixed position's input is then its token's embedding plus, at t = 0, the LayerNorm's bias and
    from t = 1 on a fixed function of that token (training sees the same, so the model learns it).

    State: [B, window + 1, N, d], index 0 the current embedding, index d the one d turns ago
    (zeros before the start of decoding).
    """

    def __init__(self, dim: int, window: int = 6, decay: float = 0.5):
        super().__init__()
        if window < 1:
            raise ValueError(f"history.window must be >= 1, got {window}")
        if decay < 0:
            raise ValueError(f"history.decay must be >= 0, got {decay}")
        self.dim, self.window = dim, window
        self.register_buffer("weights", torch.exp(-decay * torch.arange(window, dtype=torch.float32)), persistent=False)
        self.norm = nn.LayerNorm(dim)

    def start(self, e0: torch.Tensor) -> torch.Tensor:
        past = e0.new_zeros(e0.shape[0], self.window, *e0.shape[1:])
        return torch.cat([e0.unsqueeze(1), past], dim=1)

    def advance(self, state: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        return torch.cat([e.unsqueeze(1), state[:, : self.window]], dim=1)

    def inputs(self, state: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        past = torch.einsum("bhnd,h->bnd", state[:, 1:], self.weights.to(state.dtype))
        return current + self.norm(past)

    def trajectory_state(self, embed: nn.Embedding, states: torch.Tensor, t: torch.Tensor):
        """The window of each trajectory at its step t: x(t), x(t-1), ..., zeros before x(0)."""
        lags = torch.arange(self.window + 1, device=states.device)
        index = t.view(-1, 1) - lags  # [B, window + 1]
        picked = states.gather(1, index.clamp(min=0).unsqueeze(-1).expand(-1, -1, states.shape[2]))
        window = embed(picked) * (index >= 0).view(*index.shape, 1, 1)
        return window, window[:, 0]


# what a history config from before these keys existed meant (checkpoints keep the config they were trained with)
OLDER_CONFIG_DEFAULTS = {"kind": "recurrence", "rescale": True}
KINDS = ("recurrence", "window")  # the paper's recurrence, the released code's window


def history_settings(cfg) -> dict:
    """A `history` config as a plain dict, with the keys older configs lack at the values they had."""
    plain = OmegaConf.to_container(cfg) if OmegaConf.is_config(cfg) else dict(cfg or {})
    return {**OLDER_CONFIG_DEFAULTS, **plain}


def make_history(cfg, dim: int) -> nn.Module | None:
    """The history module a `history` config names (None when off)."""
    cfg = history_settings(cfg)
    if not cfg["enabled"]:
        return None
    kind = cfg["kind"]
    if kind == "recurrence":
        return HistoryReference(dim, gamma=cfg["gamma"], rotate=cfg["rotate"], rope_base=cfg["rope_base"],
                                rescale=cfg["rescale"])
    if kind == "window":
        return WindowedHistory(dim, window=cfg["window"], decay=cfg["decay"])
    raise UserError(f"history.kind={kind!r} is not one of: {', '.join(KINDS)}")
