"""Simulated revision trajectories and their oracle labels (SPEC §4).

No rollouts of the model: each editable position follows a scripted path, the current step t
is drawn per example, the states before t are its history and the oracle labels are its targets.

Rules, one per position (chosen by the task):
    KEEP   correct from the start (the gold token all along)
    WRONG  a wrong token w until beta ~ U{1..T-1}, then MASK until mu ~ U{beta+1..T}, then gold
    MASK   MASK until mu ~ U{1..T}, then gold
"""

from dataclasses import dataclass

import torch

KEEP, WRONG, MASK = 0, 1, 2

# What the oracle asks of a position in the current state; also the loss part it belongs to.
KIND_KEEP, KIND_MASK, KIND_REVEAL = 0, 1, 2
KIND_NAMES = {KIND_KEEP: "keep", KIND_MASK: "mask", KIND_REVEAL: "reveal"}


def oracle_labels(state: torch.Tensor, gold: torch.Tensor, mask_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Oracle target and kind for each position: MASK -> gold, wrong -> MASK, correct -> itself."""
    masked = state == mask_id
    wrong = ~masked & (state != gold)
    labels = torch.where(masked, gold, torch.where(wrong, torch.full_like(state, mask_id), state))
    kind = torch.where(masked, KIND_REVEAL, torch.where(wrong, KIND_MASK, KIND_KEEP))
    return labels, kind


@dataclass
class Trajectory:
    states: torch.Tensor  # [B, T, N] x(0..T-1)
    t: torch.Tensor  # [B] current step
    current: torch.Tensor  # [B, N] x(t), the model's input
    labels: torch.Tensor  # [B, N] oracle targets for x(t)
    kind: torch.Tensor  # [B, N] KIND_* of each position in x(t)


class TrajectorySimulator:
    """Draws beta, mu and t, and builds the states x(0..T-1) of a batch of trajectories."""

    def __init__(self, length: int = 6):
        if length < 2:
            raise ValueError(f"trajectory.length must be >= 2, got {length}")
        self.length = length

    def __call__(self, gold, rule, wrong, mask_id: int, generator: torch.Generator | None = None) -> Trajectory:
        T, dev = self.length, gold.device
        u = lambda: torch.rand(gold.shape, device=dev, generator=generator)  # noqa: E731
        beta = 1 + (u() * (T - 1)).long()  # U{1..T-1}
        mu_after_wrong = beta + 1 + (u() * (T - beta)).long()  # U{beta+1..T}
        mu_mask = 1 + (u() * T).long()  # U{1..T}
        mu = torch.where(rule == WRONG, mu_after_wrong, mu_mask)
        steps = torch.arange(T, device=dev).view(1, T, 1)
        is_wrong = (rule == WRONG).unsqueeze(1) & (steps < beta.unsqueeze(1))
        is_mask = (rule != KEEP).unsqueeze(1) & (steps < mu.unsqueeze(1)) & ~is_wrong
        states = torch.where(is_wrong, wrong.unsqueeze(1), gold.unsqueeze(1).expand(-1, T, -1))
        states = torch.where(is_mask, torch.full_like(states, mask_id), states)
        t = torch.randint(0, T, (gold.shape[0],), device=dev, generator=generator)
        current = states[torch.arange(gold.shape[0], device=dev), t]
        labels, kind = oracle_labels(current, gold, mask_id)
        return Trajectory(states, t, current, labels, kind)
