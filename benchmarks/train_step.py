"""(a) One training step with the RM loss + HER, divided by one plain masked-diffusion step.

Same backbone, same batch, same optimizer; forward + backward + AdamW step. Goal: <= 1.15.
The two steps alternate, 40 times each: a profile of both shows the same kernels within 1% of
each other, so the step-to-step noise of a shared CPU is what a short run measures (15 repeats
gave 1.09 and 1.17 on the same code).
"""

import torch

from benchmarks.common import interleaved_medians, train_config
from rm_cli.lightning_module import RMLightningModule


def step_fn(module: RMLightningModule, batch):
    opt = torch.optim.AdamW(module.parameters(), lr=1e-4)

    def step():
        loss = module.training_step(batch, 0)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def run(batch_size: int = 128, repeats: int = 40) -> dict:
    torch.manual_seed(0)
    modules = {
        "mdm (history off)": RMLightningModule(train_config("objective=mdm", "history=off")),
        "rm + her": RMLightningModule(train_config("objective=rm", "history=her")),
    }
    rm_module = modules["rm + her"]
    modules["mdm (history off)"].load_state_dict(rm_module.state_dict())
    batch = next(iter(rm_module.task.train_stream(batch_size, seed=0)))
    for m in modules.values():
        m.log = lambda *a, **k: None  # no Trainer attached: logging is a no-op here
    times = interleaved_medians({name: step_fn(m, batch) for name, m in modules.items()}, repeats)
    return {
        "batch_size": batch_size,
        "mdm_step_s": times["mdm (history off)"],
        "rm_her_step_s": times["rm + her"],
        "ratio": times["rm + her"] / times["mdm (history off)"],
        "goal": 1.15,
    }


if __name__ == "__main__":
    print(run())
