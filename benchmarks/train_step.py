"""(a) One training step with the RM loss + HER, divided by one plain masked-diffusion step.

Same backbone, same batch, same optimizer; forward + backward + AdamW step. Goal: <= 1.15.
The two steps are timed in adjacent pairs, 40 of them, and the ratio is the median of the pairs'
ratios, with its quartiles: the step-to-step noise of a shared CPU is what a short run measures
(15 repeats gave 1.09 and 1.17 on the same code).
"""

import torch

from benchmarks.common import paired_ratio, train_config
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
    return {
        "batch_size": batch_size,
        "threads": torch.get_num_threads(),
        **paired_ratio(step_fn(modules["rm + her"], batch), step_fn(modules["mdm (history off)"], batch), repeats,
                       names=("rm_her_step_s", "mdm_step_s")),
        "goal": 1.15,
    }


if __name__ == "__main__":
    print(run())
