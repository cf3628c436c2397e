"""The text task's training batches: examples drawn with replacement, RM rules drawn per batch.

RM rules. Prompt positions are KEEP (and out of the loss). In each answer region, round(r * answer_len)
positions chosen uniformly are WRONG (they show a wrong token first: uniform, or the native cache's
top-k) and the rest MASK. r = wrong_rate (the released code's 30%) with wrong_rate_sampling=fixed,
or r ~ U(0, wrong_rate) per example with `uniform` (spans all-masked to heavily corrupted answers).
"""

import torch

from rm_cli.trajectory import KEEP, MASK, WRONG

SAMPLINGS = ("fixed", "uniform")


def assign_rules(editable: torch.Tensor, wrong_rate: float, sampling: str, generator) -> torch.Tensor:
    """[B, N] rule per position: KEEP outside the answer; round(r * answer positions) WRONG, the rest MASK."""
    B = editable.shape[0]
    rate = torch.full((B, 1), wrong_rate) if sampling == "fixed" else torch.rand(B, 1, generator=generator) * wrong_rate
    k = (rate * editable.sum(-1, keepdim=True)).round().long()
    score = torch.rand(editable.shape, generator=generator).masked_fill(~editable, 2.0)
    wrong = score.argsort(-1).argsort(-1) < k
    return torch.where(editable, torch.where(wrong, WRONG, MASK), KEEP)


class TextTrainStream(torch.utils.data.IterableDataset):
    """Endless batches drawn with replacement from the encoded training set, rules drawn per batch.

    With `candidates` ([n, answer_len, k], the native cache) each batch also carries
    `wrong_candidates` [B, N, k] for the corruption to draw from (gold outside the answer)."""

    def __init__(self, gold, editable, batch_size: int, seed: int, wrong_rate: float, sampling: str, candidates=None):
        super().__init__()
        self.gold, self.editable, self.batch_size, self.seed = gold, editable, batch_size, seed
        self.wrong_rate, self.sampling, self.candidates = wrong_rate, sampling, candidates

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        while True:
            pick = torch.randint(0, len(self.gold), (self.batch_size,), generator=g)
            gold, editable = self.gold[pick], self.editable[pick]
            batch = {"gold": gold, "editable": editable, "rule": assign_rules(editable, self.wrong_rate, self.sampling, g)}
            if self.candidates is not None:
                wrong = self.candidates[pick]
                full = gold.unsqueeze(-1).expand(-1, -1, wrong.shape[-1]).clone()
                full[:, -wrong.shape[1]:] = wrong
                batch["wrong_candidates"] = full
            yield batch
