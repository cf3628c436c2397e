"""corruption=source: the wrong tokens of an RM trajectory come with the batch itself.

For image editing (SPEC §4) a wrong token is the source scene's token where it differs from the
target: the task puts the source tokens in `wrong_candidates` [B, N, 1] and this corruption
hands them to the trajectory simulator unchanged (no randomness involved).
"""

import torch

from rm_cli.errors import UserError


class SourceTokens:
    def __call__(self, gold: torch.Tensor, vocab_size: int, mask_id: int, generator=None, candidates=None,
                 kept=None) -> torch.Tensor:
        if candidates is None:
            raise UserError("corruption=source needs a task whose batches carry their own wrong tokens (task=image)")
        return candidates[..., 0].to(gold.device)
