"""(e) Text on the pretrained MiniLM: scoring only the answer columns vs every column.

A text example is a prompt (never edited) then the answer region; the MiniLM head projects each
position onto 30,522 tokens, the largest matmul of a training step. Since the head runs on the
first editable column on, a training step (SFT and RM + HER) and a decode skip the prompt's
logits. This times both variants on the same model, batch and draws, alternating, by forcing
first_editable_column to 0 for the "every column" variant (the code path before the change).

    python benchmarks/answer_logits.py
"""

from contextlib import contextmanager

import torch

import rm_cli.lightning_module as lightning_module
import rm_cli.samplers.base as sampler_base
from benchmarks.common import interleaved_medians, train_config
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


def run(batch_size: int = 32, decode_problems: int = 32, repeats: int = 4) -> dict:
    """Training steps of SFT and RM + HER; one decode (vanilla_text, one token a turn) of
    `decode_problems` validation problems in one batch."""
    torch.manual_seed(0)
    out = {"batch_size": batch_size, "decode_problems": decode_problems, "seq_len": 80, "answer_len": 32}
    for name, overrides in {"sft": ("objective=mdm", "history=off", "sampler=vanilla_text"),
                            "rm_her": ("objective=rm", "history=her", "sampler=rm_text")}.items():
        module = RMLightningModule(train_config(*LAYOUT, *overrides))
        module.log = lambda *a, **k: None  # no Trainer attached
        batch = module.draw(next(iter(module.task.train_stream(batch_size, seed=0))), torch.Generator().manual_seed(0))
        t = interleaved_medians({"answer": train_step(module, batch, False), "every": train_step(module, batch, True)},
                                repeats, warmup=1)
        out[f"{name}_train_s"] = {"answer columns": t["answer"], "every column": t["every"]}
        out[f"{name}_train_speedup"] = t["every"] / t["answer"]
        if name == "sft":
            module.eval()
            examples = module.task.val_examples().take(decode_problems)
            d = interleaved_medians({"answer": decode(module, examples, False), "every": decode(module, examples, True)},
                                    max(2, repeats // 2), warmup=1)
            out["decode_s"] = {"answer columns": d["answer"], "every column": d["every"]}
            out["decode_speedup"] = d["every"] / d["answer"]
    return out


if __name__ == "__main__":
    print(run())
