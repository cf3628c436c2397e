"""Where a trajectory's wrong tokens come from (SPEC §4, corruption distribution)."""

from pathlib import Path

import torch

from rm_cli.errors import UserError
from rm_cli.progress import progress


class UniformCorruption:
    """A wrong token drawn uniformly from the vocabulary minus the gold token and the mask token.

    `low`/`high` bound the ids that count as real tokens (for Sudoku: the nine digits).
    """

    def __init__(self, low: int = 0, high: int | None = None):
        self.low, self.high = low, high

    def __call__(self, gold: torch.Tensor, vocab_size: int, mask_id: int, generator=None, kept=None) -> torch.Tensor:
        high = self.high if self.high is not None else vocab_size
        ids = torch.arange(self.low, high, device=gold.device)
        ids = ids[ids != mask_id]
        n = ids.numel()
        if n < 2:
            raise ValueError("uniform corruption needs at least two real tokens")
        # Draw among the n-1 ids that are not gold: skip over gold's slot.
        gold_slot = torch.searchsorted(ids, gold.clamp(ids[0], ids[-1]))
        gold_in = ids[gold_slot.clamp(max=n - 1)] == gold
        r = (torch.rand(gold.shape, device=gold.device, generator=generator) * (n - 1)).long()
        r = torch.where(gold_in & (r >= gold_slot), r + 1, r)
        return ids[r]


# ---- native corruption: a frozen checkpoint's own likely mistakes -----------------------------

def weights_device(model) -> torch.device:
    """Where the model's weights are: its inputs go there (the CPU for a module with none, as a scripted one)."""
    first = next(model.parameters(), None)
    return torch.device("cpu") if first is None else first.device


def native_candidates(model, inputs: torch.Tensor, gold: torch.Tensor, k: int, batch_size: int = 256,
                      start: int = 0) -> torch.Tensor:
    """[n, N - start, k] the k real tokens a frozen model finds most probable at positions start.. of
    `inputs`, gold and MASK removed (SPEC §4: "top-k of a frozen checkpoint's softmax with gold
    removed"). Computed on the model's device, `batch_size` rows at a time; returned on the CPU."""
    mask_id, out = model.mask_id, []
    device = weights_device(model)
    with torch.inference_mode(), progress("native cache", inputs.shape[0]) as advance:
        for i in range(0, inputs.shape[0], batch_size):
            x, g = inputs[i:i + batch_size].to(device), gold[i:i + batch_size, start:].to(device)
            logits = model.logits(x, model.start(x), logits_from=start).float()
            if not 1 <= k <= logits.shape[-1] - 2:
                raise UserError(f"k must be in 1..{logits.shape[-1] - 2} (the real tokens other than gold), got {k}")
            logits[..., mask_id] = float("-inf")
            logits.scatter_(-1, g.unsqueeze(-1), float("-inf"))
            out.append(logits.topk(k, dim=-1).indices.cpu())
            advance(x.shape[0])
    return torch.cat(out)


def build_native_cache(model, examples, k: int, batch_size: int = 256, source: str = "") -> dict:
    """What `rm prepare split=native` saves: the boards and their top-k wrong tokens."""
    wrong = native_candidates(model, examples.inputs, examples.gold, k, batch_size)
    small = torch.int8 if wrong.max() < 127 and examples.gold.max() < 127 else torch.int32
    return {"gold": examples.gold.to(small), "editable": examples.editable.bool(), "wrong": wrong.to(small),
            "k": k, "source": source, "examples": examples.source}


def load_native_cache(path) -> dict:
    p = Path(str(path))
    if not p.is_file():
        raise UserError("no such native corruption cache (write it with rm prepare split=native)", path=path)
    try:
        cache = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # a torch.load failure can be any of a dozen types
        raise UserError(f"not a readable native corruption cache ({e.__class__.__name__})", path=path) from None
    if not isinstance(cache, dict) or not {"gold", "editable", "wrong"} <= set(cache):
        raise UserError("not a native corruption cache (no gold/editable/wrong inside)", path=path)
    return cache


class NativeCorruption:
    """A wrong token drawn uniformly among a frozen checkpoint's top-k for that position (the
    released code's choice), looked up by the gold board in the cache of `rm prepare split=native`.

    The task must train on the cached boards (task.mode=solve does when this corruption is on),
    since the lookup is by board. The cache is read at the first call, so a checkpoint trained
    with it loads for eval on a machine that does not have the file.
    """

    def __init__(self, cache: str | None = None, k: int | None = None):
        if cache in (None, "", "???"):
            raise UserError("corruption=native needs corruption.cache=FILE (written by rm prepare split=native)")
        self.path, self.k = cache, k
        self.rows: dict[bytes, int] | None = None

    def _load(self) -> None:
        cache = load_native_cache(self.path)
        self.gold, self.wrong = cache["gold"], cache["wrong"].long()
        if self.k is not None:
            if not 1 <= self.k <= self.wrong.shape[-1]:
                raise UserError(f"corruption.k must be in 1..{self.wrong.shape[-1]} (the cache's k), got {self.k}")
            self.wrong = self.wrong[..., : self.k]
        self.rows = {row.numpy().tobytes(): i for i, row in enumerate(self.gold)}

    def __call__(self, gold: torch.Tensor, vocab_size: int, mask_id: int, generator=None, candidates=None,
                 kept=None) -> torch.Tensor:
        """`candidates` [B, N, k]: the batch brings each example's top-k itself (the text task's
        stream reads them from its cache), so no lookup by board is needed."""
        if candidates is not None:
            return sample_candidates(candidates, self.k, generator).to(gold.device)
        if self.rows is None:
            self._load()
        dtype = self.gold.dtype
        try:
            rows = [self.rows[row.numpy().tobytes()] for row in gold.detach().cpu().to(dtype)]
        except KeyError:
            raise UserError(f"a training board is not in the native corruption cache {self.path}; "
                            "train on its boards (task.mode=solve with corruption=native does)") from None
        return sample_candidates(self.wrong[torch.tensor(rows)], None, generator).to(gold.device)


def sample_candidates(candidates: torch.Tensor, k: int | None, generator=None) -> torch.Tensor:
    """[B, N] one of the first k (None: all) candidates [B, N, K] per position, uniformly."""
    if k is not None:
        if not 1 <= k <= candidates.shape[-1]:
            raise UserError(f"corruption.k must be in 1..{candidates.shape[-1]} (the cache's k), got {k}")
        candidates = candidates[..., :k]
    pick = torch.randint(0, candidates.shape[-1], candidates.shape[:-1] + (1,), generator=generator)
    return candidates.gather(-1, pick.to(candidates.device)).squeeze(-1)
