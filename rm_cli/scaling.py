"""Test-time scaling: every sampler on the same model at several budgets of forward passes (NFE).

A budget B sets each sampler's number of turns so that no example costs more than B passes:
`steps = B` for the scheduled samplers (vanilla, topk_margin, entropy, remdm), `max_turns = B - 1`
for `rm` (its last pass may be the fill of positions still masked). Samplers that stop at a
fixed point spend less: the plot puts each point at its measured mean NFE, and the CSV holds
both the budget and the measured mean and max.
"""

import csv
import io
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rm_cli.config import conf_dir, sampler_preset
from rm_cli.decode import decode_examples
from rm_cli.errors import UserError
from rm_cli.io import atomic_write_bytes, atomic_write_text
from rm_cli.samplers import SAMPLERS, build_sampler

LEAD = ["sampler", "history", "budget", "nfe_mean", "nfe_max"]


def sampler_configs(names, chosen: DictConfig, chosen_name: str | None = None, named: bool = False,
                    edited: bool = False) -> dict[str, DictConfig]:
    """conf/sampler/NAME.yaml for each name (None: every registered sampler that a budget applies to,
    i.e. whose config has `steps`, `max_turns` or `reveal_steps`, that decodes on its own (not best_of) and
    any task's layout (not rm_edit, which stands in for rm on the image task, see below)). A name may
    also be a preset of a registered sampler (rm_solve, rm_text: another YAML with the same `_target_`).

    The sampler chosen on the command line (`chosen`, with its overrides; `chosen_name` is its
    preset, when known) replaces the listed name that is that preset, or else the one listed name of
    its class when that name is the class's registry name (`sampler=rm_text` with `[rm, vanilla]`:
    rm_text and vanilla are compared, and rm_text is reported under its own name).
    A listed preset is never replaced by another preset of its class: `rm_solve` stays
    `rm_solve` when `sampler=rm`, the default, is chosen. `named` / `edited`: the command line chose the
    sampler (`sampler=X`) / changed its keys (`sampler.KEY=`): a chosen sampler of a class nobody listed, or edits
    that no listed name takes, are refused (they were dropped silently); `sampler=rm` beside a listed rm_solve
    leaves rm_solve as its YAML says."""
    registered = {f"{cls.__module__}.{cls.__qualname__}" for cls in SAMPLERS.values()}
    names = [names] if isinstance(names, str) else names  # scaling_samplers=rm: one name, not the letters r and m
    out = {}
    for name in compared_by_default() if names is None else [str(n) for n in names]:
        path = sampler_preset(name)
        cfg = OmegaConf.load(path) if path.is_file() else None
        if cfg is None or cfg.get("_target_") not in registered:
            presets = sorted(p.stem for p in (conf_dir() / "sampler").glob("*.yaml"))
            raise UserError(f"unknown sampler {name!r} in scaling_samplers; choose from: {', '.join(presets)}")
        out[name] = cfg
    if chosen_name in out:
        out[chosen_name] = chosen
        return out
    same_class = [name for name, cfg in out.items() if cfg._target_ == chosen.get("_target_")]
    placed = len(same_class) == 1 and same_class[0] in SAMPLERS
    # the task's own RM decoder of another class (image: rm_edit, its keys edited or not) stands in for the listed
    # rm, as rm_solve does
    stands_in = not same_class and not named and "rm" in out and chosen_name and sampler_preset(chosen_name).is_file()
    if not placed and not stands_in and (edited or (named and not same_class)):
        what = chosen_name or str(chosen.get("_target_"))
        raise UserError(f"sampler={what} (with its overrides) is not among the compared samplers ({', '.join(out)}); "
                        f"add {what} to scaling_samplers, or drop sampler= to compare the list as it is")
    if stands_in:
        return {(chosen_name if name == "rm" else name): (chosen if name == "rm" else cfg) for name, cfg in out.items()}
    if placed:
        # labelled by what decodes: rm_solve (task.mode=solve's default) in rm's place is reported as rm_solve
        label = chosen_name if chosen_name and sampler_preset(chosen_name).is_file() else same_class[0]
        out = {(label if name == same_class[0] else name): (chosen if name == same_class[0] else cfg)
               for name, cfg in out.items()}
    return out


def budgeted_samplers() -> list[str]:
    """The registered samplers a budget of turns applies to (rm_edit's two phases have their own counts)."""
    def has_budget(name):
        path = sampler_preset(name)
        return path.is_file() and any(key in OmegaConf.load(path) for key in ("steps", "max_turns", "reveal_steps"))
    return [name for name in sorted(SAMPLERS) if has_budget(name)]


def compared_by_default() -> list[str]:
    """What `scaling_samplers: null` compares: the budgeted samplers that decode on their own (not best_of,
    which runs another sampler several times and is listed by name)."""
    return [name for name in budgeted_samplers() if not SAMPLERS[name].wraps_another and not SAMPLERS[name].one_task]


def with_budget(cfg: DictConfig, budget: int) -> DictConfig:
    """The sampler config whose turns cost at most `budget` forward passes per example."""
    if budget < 1:
        raise UserError(f"scaling_budgets must be >= 1, got {budget}")
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    if "steps" in cfg:
        cfg.steps = budget
    elif "reveal_steps" in cfg:  # rm_edit: half the passes may re-mask, the rest reveal (at least one)
        cfg.remask_steps = budget // 2
        cfg.reveal_steps = budget - cfg.remask_steps
    elif "max_turns" in cfg:
        if budget == 1:  # one pass: no room for the final fill (rm and its presets reveal every blank in it)
            cfg.max_turns, cfg.fill_at_end = 1, False
        else:
            cfg.max_turns = budget - 1 if cfg.get("fill_at_end", True) else budget
    else:
        raise UserError(f"sampler {cfg._target_} has no steps, max_turns or reveal_steps; it cannot be given a budget "
                        f"(choose from: {', '.join(budgeted_samplers())}, or a preset of one)")
    return cfg


def spends_whole_budget(cfg: DictConfig) -> bool:
    """Whether with_budget(cfg, B) spends exactly B forward passes on an example that never reaches a fixed point:
    `steps` is one pass a turn. A `max_turns` sampler keeps its last pass for a fill it may not need, rm_edit's
    re-mask phase (`reveal_steps`) ends once nothing new is masked, and a wrapper (best_of) spends whole views: each
    spends at most B."""
    cls = next((c for c in SAMPLERS.values() if f"{c.__module__}.{c.__qualname__}" == cfg.get("_target_")), None)
    return "steps" in cfg and cls is not None and not cls.wraps_another


def at_budget(name: str, base: DictConfig, budget: int):
    """The sampler `name` at `budget` forward passes per example. A budget too small for it (best_of: every view
    needs a pass to decode and its scoring passes) is refused in terms of the budget, not of the `sampler.steps=`
    that the budget set and the user never wrote."""
    try:
        return build_sampler(with_budget(base, budget))
    except UserError:
        need = smallest_budget(base, budget)
        if need is None:  # no budget would do: not the budget's fault, the sampler's own message says what is
            raise
        raise UserError(f"scaling budget {budget} is too small for {name}: it needs {need} forward passes per example "
                        f"or more; drop the budgets below {need} from scaling_budgets, or {name} from scaling_samplers"
                        ) from None


def smallest_budget(base: DictConfig, budget: int, cap: int = 1 << 16) -> int | None:
    """The smallest budget above `budget` that the sampler takes (None: none up to cap)."""
    def builds(b: int) -> bool:
        try:
            build_sampler(with_budget(base, b))
            return True
        except UserError:
            return False

    low, high = budget, max(2 * budget, 2)
    while not builds(high):
        if high >= cap:
            return None
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if builds(mid) else (mid, high)
    return high


def sweep(model, task, examples, configs: dict[str, DictConfig], budgets, batch_size: int, history: str = "",
          seed: int = 0, device=None) -> list[dict]:
    """One row per (sampler, budget): the task's metrics plus the measured NFE. `history` labels
    the checkpoint's history setting, so CSVs of several checkpoints can be joined. seed and device
    are the eval's: per-example draws at temperature > 0 and where the model decodes, as in one eval."""
    # every (sampler, budget) first, so a sampler that takes no budget (or too small a one) fails before any decoding
    planned = {(name, int(budget)): at_budget(name, base, int(budget))
               for name, base in configs.items() for budget in budgets}
    rows = []
    for (name, budget), sampler in planned.items():
        result = decode_examples(sampler, model, examples, batch_size, task.metrics_read_trajectory,
                                 description=f"{name} @ {budget}", seed=seed, device=device)
        metrics = task.metrics(examples, result)
        nfe = result.nfe.float()
        nfe_max = int(nfe.max())
        if nfe_max > budget:  # vanilla with block_size: one turn per block at least, plus the fill
            raise UserError(f"{name} spent {nfe_max} forward passes at budget {budget} (with block_size each block "
                            "takes a turn): raise the budget to the number of blocks or more, or drop block_size")
        rows.append({"sampler": name, "history": history, "budget": budget, "nfe_mean": nfe.mean().item(),
                     "nfe_max": nfe_max, **metrics})
    return rows


def write_csv(path, rows: list[dict], metric: str = "exact_pct") -> None:
    """One row per (sampler, budget): the lead columns and `metric` first, then every other metric."""
    lead = LEAD + [metric]
    columns = lead + sorted({k for row in rows for k in row} - set(lead))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def output_paths(output) -> tuple[Path, Path]:
    """The CSV and the PNG that `rm eval scaling=true output=FILE.json` writes beside FILE.json."""
    out = Path(str(output))
    return out.with_suffix(".csv"), out.with_suffix(".png")


def write_csv_and_plot(csv_path, png_path, rows: list[dict], title: str, metric: str = "exact_pct") -> None:
    """The CSV and its PNG plot; the plot is drawn before either is written, so a plot that fails leaves no CSV
    without its PNG."""
    png = plot_png(rows, title, metric)
    write_csv(csv_path, rows, metric)
    atomic_write_bytes(png_path, lambda f: f.write(png))


def plot_png(rows: list[dict], title: str, metric: str = "exact_pct") -> bytes:
    """`metric` (a percentage: exact %) against mean NFE, one line per sampler, NFE on a log2 axis, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for name in dict.fromkeys(row["sampler"] for row in rows):
        points = sorted((row["nfe_mean"], row[metric]) for row in rows if row["sampler"] == name)
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_xlabel("forward passes per example (mean NFE)")
    ax.set_ylabel("exact %" if metric == "exact_pct" else metric)
    ax.set_ylim(-2, 102)
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
