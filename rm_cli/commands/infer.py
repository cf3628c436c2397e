"""rm infer: decode every input of a prompt file; print the outputs or write them to a file."""

from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console

from rm_cli.checkpoint import load_checkpoint
from rm_cli.decode import decode_examples
from rm_cli.io import atomic_write_text, check_writable


def run(cfg: DictConfig) -> list[str]:
    check_writable(cfg.output)
    module = load_checkpoint(cfg.checkpoint, cfg.task)
    task = module.task
    examples = task.prompt_examples(cfg.prompts)
    sampler = instantiate(cfg.sampler)
    err = Console(stderr=True)
    result = decode_examples(sampler, module.model, examples, cfg.batch_size, cfg.show_trajectory, "infer", console=err)
    outputs = [task.format_output(row) for row in result.tokens]
    if cfg.show_trajectory:
        out = Console(highlight=False)
        for i, line in enumerate(examples.lines):
            out.rule(f"{examples.source}:{line}")
            steps = int(result.nfe[i]) + 1
            for frame in task.render_turns(result.trajectory[:steps, i]):
                out.print(frame)
    if cfg.output:
        atomic_write_text(cfg.output, "\n".join(outputs) + "\n")
    elif not cfg.show_trajectory:
        print("\n".join(outputs))
    return outputs
