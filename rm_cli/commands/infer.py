"""rm infer: decode every input of a prompt file (or of standard input, prompts=-); print the outputs or write
them to a file.

Everything is read and checked before decoding starts, and the output file is written only at
the end (atomically), so bad input stops with one line and leaves no partial output. A task whose
outputs are files (task=image: PNGs, panels, GIFs) writes them through its write_files hook.
"""

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig
from rich.console import Console

from rm_cli import default_sampler, stdin_prompts
from rm_cli.checkpoint import load_checkpoint
from rm_cli.config import validate_io
from rm_cli.decode import decode_examples, on_device
from rm_cli.errors import UserError
from rm_cli.report import print_source_line, warn_several_solutions
from rm_cli.runinfo import provenance
from rm_cli.samplers import build_sampler


def run(cfg: DictConfig) -> list[str]:
    validate_io(cfg)
    task_class = get_class(cfg.task._target_)
    if cfg.show_trajectory and not task_class.draws_trajectories():  # before a (large) checkpoint loads
        raise UserError(f"task {task_class.name!r} cannot draw trajectories; run without show_trajectory")
    module = on_device(load_checkpoint(cfg.checkpoint, cfg.task), cfg.device)
    task = instantiate(cfg.task).for_checkpoint(module.task)
    stdin_prompts.check(task, cfg.prompts)
    task.check_output(cfg.output, cfg.prompts)
    examples = stdin_prompts.prompt_examples(task, cfg.prompts)
    warn_several_solutions(examples, "any valid grid that keeps the givens answers them")
    cfg, _ = default_sampler.apply(cfg, task, module.cfg.objective, default_sampler.command_line())
    sampler = build_sampler(cfg.sampler)
    err = Console(stderr=True)
    result = decode_examples(sampler, module.model, examples, cfg.batch_size, cfg.show_trajectory, "infer", console=err,
                             seed=cfg.seed, device=cfg.device)
    outputs = [task.format_output(row) for row in result.tokens]
    if cfg.show_trajectory:
        out = Console(highlight=False)
        for i in range(len(examples)):  # every example: a task may leave `lines` empty
            if len(examples.lines) == len(examples):
                print_source_line(out, examples.source, examples.lines[i])
            else:
                print_source_line(out, examples.source, i + 1, note="the example's number, not its line")
            steps = int(result.nfe[i]) + 1
            for frame in task.render_turns(result.trajectory[:steps, i]):
                out.print(frame)
    written = task.write_files(cfg.output, examples, result, cfg.show_trajectory,
                               run_info=provenance(cfg, module, examples.source, len(examples), "prompts"))
    if written is not None:
        print(f"wrote {len(written)} files to {written[0].parent}")
    elif cfg.output:
        task.write_outputs(cfg.output, examples, outputs)
    elif not cfg.show_trajectory:
        task.print_outputs(examples, outputs, Console(highlight=False))
    return outputs
