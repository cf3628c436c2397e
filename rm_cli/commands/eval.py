"""rm eval: decode a scored test file and report the task's metrics as a table and a JSON file.
With scaling=true: every sampler at several NFE budgets, written as JSON, CSV and a PNG plot."""

import time
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from rm_cli import default_sampler, scaling
from rm_cli.checkpoint import load_checkpoint
from rm_cli.config import validate_io
from rm_cli.decode import decode_examples, on_device
from rm_cli.errors import UserError
from rm_cli.io import atomic_write_json, check_writable
from rm_cli.report import METRIC_PLACES, print_table, warn_several_solutions
from rm_cli.runinfo import provenance
from rm_cli.samplers import build_sampler


def run(cfg: DictConfig) -> dict:
    validate_io(cfg)
    check_writable(cfg.output)
    if cfg.scaling and (not cfg.output or Path(str(cfg.output)).suffix != ".json"):
        raise UserError("scaling=true needs output=FILE.json (the CSV and the PNG plot are written beside it), "
                        f"got output={cfg.output}")
    if cfg.scaling:
        for beside in scaling.output_paths(cfg.output):  # checked before the sweep, not after it
            check_writable(beside)
    module = on_device(load_checkpoint(cfg.checkpoint, cfg.task), cfg.device)
    # this command's task options (level, test file), checked against the checkpoint
    task = instantiate(cfg.task).for_checkpoint(module.task)
    if cfg.benchmark:
        options = dict(cfg.benchmark_options or {})
        if cfg.test_file:
            options.setdefault("path", cfg.test_file)
        examples = task.benchmark_examples(cfg.benchmark, cfg.limit, **options)
    else:
        examples = task.eval_examples(cfg.test_file, cfg.limit)
    warn_several_solutions(examples, "exact_pct compares with one of them, solved_pct accepts any")
    cfg, preset = default_sampler.apply(cfg, task, module.cfg.objective, default_sampler.command_line())
    preset = preset or default_sampler.chosen_name()
    if cfg.scaling:
        return run_scaling(cfg, module, task, examples, preset)

    sampler = build_sampler(cfg.sampler)
    started = time.perf_counter()
    result = decode_examples(sampler, module.model, examples, cfg.batch_size, task.metrics_read_trajectory,
                             description="eval", seed=cfg.seed, device=cfg.device)
    wall = time.perf_counter() - started
    metrics, predictions = task.evaluate(examples, result)

    what = f"{task.name}, benchmark {cfg.benchmark}" if cfg.benchmark else task.name
    print_table(f"rm eval: {what} ({preset or sampler.name} sampler, history {module.cfg.history.name})", metrics.items(),
                places=METRIC_PLACES)  # up to 4 decimals: Sudoku's JSON holds these digits, text's and image's more

    report = {
        "metrics": metrics,
        "sampler": sampler.name,
        "sampler_preset": preset,  # conf/sampler/NAME.yaml it came from (None: composed in code)
        "decode_wall_time_s": round(wall, 2),
        "benchmark": cfg.benchmark,
        "predictions": predictions,
        **provenance(cfg, module, examples.source, len(examples)),
    }
    if cfg.output:
        atomic_write_json(cfg.output, report)
    return report


def run_scaling(cfg: DictConfig, module, task, examples, sampler_name: str | None) -> dict:
    overrides = default_sampler.command_line() or []
    configs = scaling.sampler_configs(cfg.scaling_samplers, cfg.sampler, sampler_name,
                                      named=default_sampler.chooses_sampler(overrides),
                                      edited=default_sampler.edits_sampler(overrides))
    metric = task.headline_metric(examples)
    budgets = sorted(set(cfg.scaling_budgets))  # whole numbers >= 1 (validate_io)
    started = time.perf_counter()
    rows = scaling.sweep(module.model, task, examples, configs, budgets, cfg.batch_size, module.cfg.history.name,
                         seed=cfg.seed, device=cfg.device)
    wall = time.perf_counter() - started

    label = "exact %" if metric == "exact_pct" else metric
    heading = f"rm eval scaling: {label} (mean NFE), history {module.cfg.history.name}, {len(examples)} examples"
    table = Table()  # the title is a line of its own above it (as a table title rich wrapped it when piped)
    table.add_column("sampler")
    for budget in budgets:
        table.add_column(f"budget {budget}", justify="right")
    for name in configs:
        cells = {row["budget"]: f"{row[metric]:.1f} ({row['nfe_mean']:.1f})" for row in rows if row["sampler"] == name}
        table.add_row(name, *(cells[b] for b in budgets))
    console = Console()
    console.print(heading, style="bold", markup=False, highlight=False, soft_wrap=True)
    console.print(table)

    out = Path(cfg.output)
    csv_path, png_path = scaling.output_paths(out)
    title = f"{task.name} {getattr(task, 'mode', '')}: {Path(examples.source).name}, history {module.cfg.history.name}"
    scaling.write_csv_and_plot(csv_path, png_path, rows, title, metric)
    report = {"scaling": rows, "metric": metric, "budgets": budgets, "samplers": list(configs), "csv": str(csv_path),
              "plot": str(png_path), "decode_wall_time_s": round(wall, 2), **provenance(cfg, module, examples.source, len(examples))}
    atomic_write_json(out, report)
    return report
