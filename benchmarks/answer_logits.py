"""(e) Text on the pretrained MiniLM: scoring only the answer columns vs every column.

A text example is a prompt (never edited) then the answer region; the MiniLM head projects each
position onto 30,522 tokens, the largest matmul of a training step. Since the head runs on the
first editable column on, a training step (SFT and RM + HER) and a decode skip the prompt's
logits. This times both variants on the same model, batch and draws by forcing first_editable_column
to 0 for the "every column" variant (the code path before the change), in adjacent pairs with the
order alternating (benchmarks.common.paired_ratio, as (a) and (b)): each speedup is the median of the
pairs' ratios (every column / answer columns), with its quartiles. Reported only, no goal.

    python benchmarks/answer_logits.py
"""

from contextlib import contextmanager

import torch

import rm_cli.lightning_module as lightning_module
import rm_cli.samplers.base as sampler_base
from benchmarks.common import paired_ratio, train_config
from rm_cli.lightning_module import RMLightningModule

LAYOUT = ("task=text", "backbone=hf_mlm", "task.prompt_len=48", "task.answer_len=32", "task.train_size=256",
          "task.val_size=32", "optim.lr=1e-4")


@contextmanager
def every_column():
    """Score every column, prompt included, as the loss and the samplers did before."""
    saved = lightning_module.first_editable_column, sampler_base.first_editable_column
    lightning_module.first_editable_column = sampler_base.first_editable_column = lambda editable: 0
    try:
        yield
    finally:
        lightning_module.first_editable_column, sampler_base.first_editable_column = saved


def train_step(module: RMLightningModule, batch, whole: bool):
    opt = torch.optim.AdamW(module.parameters(), lr=1e-4)

    def step():
        torch.manual_seed(0)  # the same dropout draws for both variants
        if whole:
            with every_column():
                loss = module.training_step(batch, 0)
        else:
            loss = module.training_step(batch, 0)
        loss.backward()
        opt.zero_grad(set_to_none=True)  # no update: both variants time the same weights

    return step


def decode(module: RMLightningModule, examples, whole: bool):
    def decode_once():
        with torch.inference_mode():
            if whole:
                with every_column():
                    return module.sampler(module.model, examples.inputs, examples.editable)
            return module.sampler(module.model, examples.inputs, examples.editable)

    return decode_once


def speedup(every, answer, repeats: int) -> dict:
    """every column's time over answer columns', from adjacent pairs (see paired_ratio)."""
    return paired_ratio(every, answer, repeats, warmup=1, names=("every_column_s", "answer_columns_s"))


def run(batch_size: int = 32, decode_problems: int = 32, repeats: int = 4) -> dict:
    """Training steps of SFT and RM + HER (`repeats` pairs each); one decode (vanilla_text, one token a
    turn) of `decode_problems` validation problems in one batch (max(3, repeats // 2) pairs: with 2 pairs the
    quartiles would be extrapolated beyond both ratios, with 3 they are the smallest and largest)."""
    torch.manual_seed(0)
    out = {"batch_size": batch_size, "decode_problems": decode_problems, "seq_len": 80, "answer_len": 32,
           "threads": torch.get_num_threads()}
    for name, overrides in {"sft": ("objective=mdm", "history=off", "sampler=vanilla_text"),
                            "rm_her": ("objective=rm", "history=her", "sampler=rm_text")}.items():
        module = RMLightningModule(train_config(*LAYOUT, *overrides))
        module.log = lambda *a, **k: None  # no Trainer attached
        batch = module.draw(next(iter(module.task.train_stream(batch_size, seed=0))), torch.Generator().manual_seed(0))
        out[f"{name}_train"] = speedup(train_step(module, batch, True), train_step(module, batch, False), repeats)
        if name == "sft":
            module.eval()
            examples = module.task.val_examples().take(decode_problems)
            out["decode"] = speedup(decode(module, examples, True), decode(module, examples, False), max(3, repeats // 2))
    return out


if __name__ == "__main__":
    print(run())
