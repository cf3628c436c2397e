"""task=image: edit a 2x2 Fashion-MNIST scene as an instruction asks (docs/image_editing.md).

Sequence (layout.py): 3 instruction tokens + the source scene's tokens (context) + the canvas
(editable). The canvas starts as the source (`canvas=source`, RM's decoding: re-mask what must
change, then reveal) or all-masked (`canvas=masked`, the regenerate/sft baselines); null follows
the training objective (rm -> source, mdm -> masked) and, at eval/infer, the checkpoint.

RM rules: a canvas token that differs between source and target is WRONG, its wrong token being
the source's (corruption=source reads it from the batch); every other canvas token is KEEP.

`rm prepare task=image split=...` writes the fixed `test`/`val` pair files, trains the
`tokenizer` and the success `classifier`, or writes a folder of `prompts` (scenes as PNG plus a
prompt file) for `rm infer`. Scoring is in scoring.py, the files `rm infer` writes in edit_files.py.
"""

import copy
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from rm_cli.errors import UserError
from rm_cli.io import atomic_write_dir, check_new_dir
from rm_cli.report import print_table
from rm_cli.tasks.base import FROM_CHECKPOINT, Examples, Task
from rm_cli.tasks.image import fashion, pairs as pair_io, render
from rm_cli.tasks.image import instructions as ins
from rm_cli.tasks.image.classifier import load_classifier
from rm_cli.tasks.image.corruption import SourceTokens
from rm_cli.tasks.image.edit_files import edit_files
from rm_cli.tasks.image.layout import Layout
from rm_cli.tasks.image.scenes import EMPTY, POSITIONS, compose
from rm_cli.tasks.image.scoring import score
from rm_cli.tasks.image.tokenizer import load_tokenizer
from rm_cli.trajectory import KEEP, WRONG

TEST_SEED, VAL_SEED = 1234, 4321
CANVAS_STARTS = ("source", "masked")
# what output= of `rm infer task=image` may not end in: it names a folder (PROMPTS.out by default, so not every suffix)
FILE_SUFFIXES = (".txt", ".json", ".jsonl", ".csv", ".tsv", ".log", ".md", ".html", ".yaml", ".yml", ".png", ".jpg",
                 ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".npy", ".npz", ".pt", ".ckpt", ".zip", ".gz", ".tar")
TOKENIZER_FIT = {"patch": 7, "codebook": 256, "dim": 16, "channels": 64, "epochs": 4, "batch_size": 128, "lr": 2e-3,
                 "beta": 0.25, "restart_every": 200, "empty_rate": 0.05, "eval_items": 10000}
CLASSIFIER_FIT = {"channels": 32, "epochs": 3, "batch_size": 128, "lr": 1e-3, "eval_items": 10000}


def shipped_test_file() -> Path:
    return Path(str(resources.files("rm_cli") / "data" / "image_edit_test.jsonl"))


@dataclass
class ImageExamples(Examples):
    """Examples plus what pixel metrics and image outputs need."""

    source_tokens: torch.Tensor | None = None  # [n, n_image]
    source_pixels: torch.Tensor | None = None  # [n, 56, 56] uint8, the real source scene
    target_pixels: torch.Tensor | None = None  # [n, 56, 56] uint8, the real target scene (scored examples)
    instructions: list = field(default_factory=list)  # ins.Instruction per example
    texts: list = field(default_factory=list)  # the instruction as written
    ids: list = field(default_factory=list)
    images: list = field(default_factory=list)  # input image paths (rm infer)

    def take(self, n: int | None) -> "ImageExamples":
        if n is None:
            return self
        cut = lambda t: None if t is None else t[:n]  # noqa: E731
        return ImageExamples(self.inputs[:n], self.editable[:n], cut(self.gold), self.source, self.lines[:n],
                             cut(self.source_tokens), cut(self.source_pixels), cut(self.target_pixels),
                             self.instructions[:n], self.texts[:n], self.ids[:n], self.images[:n])


class ImageTrainStream(torch.utils.data.IterableDataset):
    """Endless batches of random edit pairs over the training pool, from pre-computed item codes."""

    def __init__(self, codes: torch.Tensor, labels: torch.Tensor, empty_codes: torch.Tensor, layout: Layout,
                 batch_size: int, seed: int, empty_rate: float, instructions: bool):
        super().__init__()
        self.codes = torch.cat([codes, empty_codes.unsqueeze(0)])  # row P: an empty quadrant
        self.labels, self.layout, self.batch_size, self.seed = labels, layout, batch_size, seed
        self.empty_rate, self.instructions = empty_rate, instructions

    def tokens(self, refs: torch.Tensor) -> torch.Tensor:
        empty_row = self.codes.shape[0] - 1
        return self.codes[torch.where(refs == EMPTY, empty_row, refs)].flatten(1)

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed)
        lay = self.layout
        while True:
            p = pair_io.draw(self.labels, self.batch_size, g, self.empty_rate)
            src, tgt = self.tokens(p.source), self.tokens(p.target)
            instr = instruction_batch(lay, p.verb, p.quadrant, p.cls, self.instructions)
            gold = lay.sequence(instr, src, tgt)
            editable = lay.editable(self.batch_size)
            rule = torch.full_like(gold, KEEP)
            rule[:, lay.canvas] = torch.where(src != tgt, WRONG, KEEP)
            wrong = gold.clone()
            wrong[:, lay.canvas] = src
            yield {"gold": gold, "editable": editable, "rule": rule, "wrong_candidates": wrong.unsqueeze(-1)}


def instruction_batch(layout: Layout, verb, quadrant, cls, shown: bool) -> torch.Tensor:
    """[B, 3] instruction ids; three `none` ids when instructions are hidden."""
    none = layout.word_id(ins.NONE)
    if not shown:
        return torch.full((verb.shape[0], 3), none)
    base = layout.codebook_size
    return torch.stack([base + verb, base + len(ins.VERBS) + quadrant,
                        torch.where(cls < 0, none, base + len(ins.VERBS) + len(POSITIONS) + cls.clamp(min=0))], dim=1)


class ImageTask(Task):
    splits = ("test", "val", "tokenizer", "classifier", "prompts")
    option_choices = {"canvas": CANVAS_STARTS}
    # conf's default `rm` is Sudoku revision's rule; an edit decodes with SPEC §2's two-phase rule (from an
    # all-masked canvas, objective=mdm, that is plain MaskGIT)
    default_samplers = {"rm": "rm_edit", "mdm": "rm_edit"}
    reads_prompts_from_stdin = False  # its prompts name images relative to the prompt file

    def __init__(self, name: str = "image", data_dir: str = fashion.DEFAULT_DIR, tokenizer: str | None = None,
                 classifier: str | None = None, canvas: str | None = None, objective: str | None = None,
                 corruption: str | None = None, instructions: bool | None = None, empty_rate: float = 0.25,
                 val_size: int = 200, test_size: int = 600, test_file: str | None = None, change_threshold: float = 0.1,
                 tokenizer_fit=None, classifier_fit=None):
        # Nothing here may raise: Hydra's instantiate would bury a UserError in its own traceback, so options
        # are checked, and the tokenizer loaded, at first use (_tok).
        self.name, self.data_dir, self.classifier = name, str(data_dir), classifier
        self.asked_canvas, self.objective, self.corruption = canvas, objective, corruption
        self.canvas = canvas or {"rm": "source", "mdm": "masked"}.get(objective)
        self.asked_instructions = instructions
        self.instructions = True if instructions is None else bool(instructions)
        self.empty_rate, self.val_size, self.test_size, self.test_file = empty_rate, val_size, test_size, test_file
        self.change_threshold = change_threshold
        self.tokenizer_fit = {**TOKENIZER_FIT, **dict(tokenizer_fit or {})}
        self.classifier_fit = {**CLASSIFIER_FIT, **dict(classifier_fit or {})}
        self.tokenizer_path, self._tokenizer = tokenizer, None

    def _check_options(self) -> None:
        if self.asked_instructions is not None and not isinstance(self.asked_instructions, bool):
            raise UserError(f"task.instructions must be true, false or null, got {self.asked_instructions!r}")
        if self.asked_canvas is not None and self.asked_canvas not in CANVAS_STARTS:
            raise UserError(f"task.canvas must be one of {', '.join(CANVAS_STARTS)} or null, got {self.asked_canvas!r}")
        if not 0.0 <= self.empty_rate < 1.0:
            raise UserError(f"task.empty_rate must be in [0, 1), got {self.empty_rate}")
        if not 0.0 < self.change_threshold < 1.0:
            raise UserError(f"task.change_threshold must be in (0, 1), got {self.change_threshold}")
        if self.objective == "rm" and self.corruption not in (None, SourceTokens.__module__ + ".SourceTokens"):
            raise UserError(f"task=image trains RM with corruption=source (the wrong tokens are the source image's), "
                            f"got corruption {self.corruption}")

    def _check_classifier(self) -> None:
        """Read the success classifier before decoding examples it will score (a missing or broken file fails
        then, not after). Only there: `rm infer` never scores, so its checkpoint's classifier may be gone."""
        if self.classifier and getattr(self, "_classifier_read", None) != self.classifier:
            load_classifier(self.classifier)  # its reader names a missing or unreadable file
            self._classifier_read = self.classifier

    @property
    def tokenizer(self):
        """The SceneTokenizer of task.tokenizer (loaded at first use), or None when not set."""
        if self._tokenizer is None and self.tokenizer_path:
            self._tokenizer = load_tokenizer(self.tokenizer_path)
        return self._tokenizer

    # ---- vocabulary and layout --------------------------------------------------------------
    def _tok(self):
        self._check_options()
        if self.tokenizer is None:
            raise UserError("task=image needs task.tokenizer=FILE (train one with: rm prepare task=image "
                            "split=tokenizer output=FILE)")
        return self.tokenizer

    @property
    def layout(self) -> Layout:
        tok = self._tok()
        if getattr(self, "_layout_of", None) is not tok:
            self._layout, self._layout_of = Layout(tok.codebook_size, tok.coordinates()), tok
        return self._layout

    @property
    def vocab_size(self) -> int:
        return self.layout.vocab_size

    @property
    def mask_id(self) -> int:
        return self.layout.mask_id

    @property
    def seq_len(self) -> int:
        return self.layout.seq_len

    def coordinates(self) -> torch.Tensor:
        return self.layout.coordinates()

    def signature(self) -> dict:
        if not self.tokenizer_path:
            return {"task": self.name, **dict.fromkeys(("tokenizer", "vocab_size", "mask_id", "seq_len"), FROM_CHECKPOINT)}
        return {"task": self.name, "tokenizer": self.tokenizer.fingerprint, "vocab_size": self.vocab_size,
                "mask_id": self.mask_id, "seq_len": self.seq_len}

    def checkpoint_task_config(self, trained: dict) -> dict:
        """The checkpoint's task with this command's tokenizer and classifier where it names them: a trained run's
        files may have moved (its config keeps the paths as typed then, often relative to another folder)."""
        given = {key: value for key, value in (("tokenizer", self.tokenizer_path), ("classifier", self.classifier)) if value}
        if "tokenizer" not in given and trained.get("tokenizer") and not Path(str(trained["tokenizer"])).is_file():
            raise UserError(f"the checkpoint's tokenizer {trained['tokenizer']} is not there (moved, or a path relative "
                            f"to another folder?); pass task.tokenizer=FILE")
        return {**trained, **given}

    def for_checkpoint(self, trained: "ImageTask") -> "ImageTask":
        """This command's options; what it leaves null (tokenizer, canvas start, instructions shown,
        classifier) is the checkpoint's."""
        bound = copy.copy(self)
        if not self.tokenizer_path:
            bound.tokenizer_path, bound._tokenizer = trained.tokenizer_path, trained.tokenizer
        bound.canvas = self.canvas or trained.canvas
        bound.instructions = trained.instructions if self.asked_instructions is None else self.instructions
        bound.classifier = self.classifier or trained.classifier
        return bound

    # ---- data -------------------------------------------------------------------------------
    def _canvas_start(self, source_tokens: torch.Tensor) -> torch.Tensor:
        if self.canvas is None:
            raise UserError("task.canvas is not set: source (RM decoding) or masked (regenerate/sft)")
        return source_tokens if self.canvas == "source" else torch.full_like(source_tokens, self.mask_id)

    def _examples(self, source_px: np.ndarray, target_px: np.ndarray | None, instructions: list, texts: list, ids: list,
                  source: str, lines: list, images: list = ()) -> ImageExamples:
        lay, tok = self.layout, self._tok()
        src_px = torch.from_numpy(np.ascontiguousarray(source_px))
        src = tok.encode(src_px)
        n = len(instructions)
        instr = torch.stack([lay.instruction_ids(i if self.instructions else None) for i in instructions])
        inputs = lay.sequence(instr, src, self._canvas_start(src))
        gold, tgt_px = None, None
        if target_px is not None:
            tgt_px = torch.from_numpy(np.ascontiguousarray(target_px))
            gold = lay.sequence(instr, src, tok.encode(tgt_px))
        return ImageExamples(inputs, lay.editable(n), gold, source, list(lines), src, src_px, tgt_px, list(instructions),
                             list(texts), list(ids), list(images))

    def _scenes(self, rec: dict, source: str, line: int) -> tuple[np.ndarray, np.ndarray]:
        """(source, target) pixels of a pair record; a one-line error if it names an item the data lacks
        (a pair file made from the full dataset, read with a small copy of it)."""
        items = fashion.images(self.data_dir, rec["split"])
        for refs in (rec["source"], rec["target"]):
            if max(refs) >= len(items):
                raise UserError(f"item {max(refs)} is not in {rec['split']} ({len(items)} images under "
                                f"{self.data_dir})", path=source, line=line)
        return compose(items, rec["source"]), compose(items, rec["target"])

    def _from_records(self, records: list[dict], lines: list[int], source: str) -> ImageExamples:
        src_px, tgt_px = zip(*(self._scenes(rec, source, line) for rec, line in zip(records, lines)))
        parsed = [r["parsed"] for r in records]
        return self._examples(np.stack(src_px), np.stack(tgt_px), parsed, [r["instruction"] for r in records],
                              [str(r.get("id", line)) for r, line in zip(records, lines)], source, lines)

    def _generated(self, pool_name: str, n: int, seed: int) -> tuple[pair_io.Pairs, str]:
        split, pool = fashion.pool(self.data_dir, pool_name)
        return pair_io.generate(fashion.labels(self.data_dir, split), pool, n, seed, self.empty_rate), split

    def _pair_records(self, pool_name: str, n: int, seed: int) -> list[dict]:
        pairs, split = self._generated(pool_name, n, seed)
        return pair_io.records(pairs, split, prefix=f"{pool_name}-")

    def train_stream(self, batch_size: int, seed: int) -> ImageTrainStream:
        split, pool = fashion.pool(self.data_dir, "train")
        tok = self._tok()
        codes = tok.encode_items(torch.from_numpy(fashion.images(self.data_dir, split)[pool]))
        labels = torch.from_numpy(fashion.labels(self.data_dir, split)[pool])
        return ImageTrainStream(codes, labels, tok.empty_codes, self.layout, batch_size, seed, self.empty_rate,
                                self.instructions)

    def val_examples(self) -> ImageExamples:
        self._check_classifier()
        recs = self._pair_records("val", self.val_size, VAL_SEED)
        for r in recs:
            r["parsed"] = ins.parse(r["instruction"])
        return self._from_records(recs, list(range(1, len(recs) + 1)), f"generated pairs (val, seed {VAL_SEED})")

    def test_examples(self, path=None) -> ImageExamples:
        self._check_classifier()
        path = path or self.test_file or shipped_test_file()
        records, lines = pair_io.read_jsonl(path)
        return self._from_records(records, lines, str(path))

    def prompt_examples(self, path) -> ImageExamples:
        from rm_cli.tasks.image.prompts import read_prompts

        prompts = read_prompts(path)
        return self._examples(np.stack([p.pixels for p in prompts]), None, [p.instruction for p in prompts],
                              [p.text for p in prompts], [p.id for p in prompts], str(path),
                              [p.line for p in prompts], [p.image for p in prompts])

    def write_split(self, split: str, path, n: int | None = None, seed: int | None = None) -> None:
        self._check_options()
        if split == "test":
            pair_io.write_jsonl(path, self._pair_records("test", n or self.test_size, TEST_SEED if seed is None else seed))
        elif split == "val":
            pair_io.write_jsonl(path, self._pair_records("val", n or self.val_size, VAL_SEED if seed is None else seed))
        elif split == "tokenizer":
            from rm_cli.tasks.image.tokenizer_fit import fit_tokenizer

            _print_report("tokenizer", fit_tokenizer(self.data_dir, path, n, seed or 0, self.tokenizer_fit))
        elif split == "classifier":
            from rm_cli.tasks.image.classifier import fit_classifier

            _print_report("classifier", fit_classifier(self.data_dir, path, n, seed or 0, self.classifier_fit,
                                                       self.tokenizer))
        elif split == "prompts":
            self._write_prompt_folder(path, n or 8, seed)
        else:
            raise UserError(f"split must be one of {', '.join(self.splits)}, got {split!r}")

    def _write_prompt_folder(self, path, n: int, seed: int | None) -> None:
        """The first n test pairs (shipped file, or `seed`'s) as scene PNGs plus prompts.jsonl for rm infer."""
        if seed is None:
            source = str(self.test_file or shipped_test_file())
            records, lines = pair_io.read_jsonl(source)
        else:
            source, records = f"generated pairs (test, seed {seed})", self._pair_records("test", n, seed)
            lines = list(range(1, len(records) + 1))
        scenes, names = [], set()
        for rec, line in zip(records[:n], lines):
            name = str(rec.get("id", f"line{line}"))  # the scene's file name: one per pair, inside the folder
            if name in names or not name.strip(". ") or any(c in name for c in "/\\\0"):
                why = "another line has it" if name in names else "it cannot be a file name"
                raise UserError(f"pair id {name!r} names the scene's PNG, and {why}", path=source, line=line)
            names.add(name)
            scenes.append((name, rec["instruction"], self._scenes(rec, source, line)[0]))

        def fill(folder: Path) -> None:
            from PIL import Image

            prompts = []
            for name, instruction, pixels in scenes:
                Image.fromarray(pixels, "L").save(folder / f"{name}.png")
                prompts.append(json.dumps({"image": f"{name}.png", "instruction": instruction, "id": name}))
            (folder / "prompts.jsonl").write_text("\n".join(prompts) + "\n")

        atomic_write_dir(path, fill)

    # ---- scoring ----------------------------------------------------------------------------
    def evaluate(self, examples: ImageExamples, result) -> tuple[dict, list]:
        self._tok()
        return score(self, examples, result)

    def headline_metric(self, examples: ImageExamples) -> str:
        """The classifier's success where there is one, else the edit's pixel precision."""
        return "success_pct" if self.classifier else "precision_pct"

    def metrics(self, examples: ImageExamples, result) -> dict:
        return self.evaluate(examples, result)[0]

    # ---- display and files ------------------------------------------------------------------
    def token_name(self, t: int) -> str:
        lay = self.layout
        if t == lay.mask_id:
            return "[MASK]"
        return str(t) if t < lay.codebook_size else ins.WORDS[t - lay.codebook_size].replace(" ", "-")

    def format_output(self, tokens: torch.Tensor) -> str:
        """The canvas as code ids (a whole sequence), else every token by name."""
        lay = self.layout
        if tokens.shape[-1] == lay.seq_len:
            tokens = tokens[lay.canvas]
        return " ".join(self.token_name(int(t)) for t in tokens)

    def render_turns(self, trajectory: torch.Tensor):
        lay, tok = self.layout, self._tok()
        source = trajectory[0, lay.source]
        out = []
        for s in range(trajectory.shape[0]):
            now = trajectory[s, lay.canvas]
            remasked, revealed = render.turn_counts(trajectory[max(s - 1, 0), lay.canvas], now, self.mask_id) if s else (0, 0)
            masked = int((now == self.mask_id).sum())
            title = f"turn {s}: {remasked} re-masked, {revealed} revealed, {masked} masked ('_' masked, '#' differs from source)"
            out.append(render.token_map(now, source, tok.grid, self.mask_id, title))
        return out

    def output_dir(self, output, prompts) -> Path:
        return Path(str(output)) if output else Path(str(prompts)).with_suffix(".out")

    def check_output(self, output, prompts) -> None:
        """output= names the folder the files go into: a name that reads as a file (edits.jsonl, x.txt, a.png) is
        refused, as is anything there but an empty folder; a trailing '/' says a folder is meant (x.txt/)."""
        if output and Path(str(output)).suffix.lower() in FILE_SUFFIXES and not str(output).endswith(("/", os.sep)):
            raise UserError(f"output names a file ({Path(str(output)).suffix}), expected a folder: task=image writes its "
                            "edited PNGs, panels, edits.jsonl and run.json into one", path=output)
        check_new_dir(self.output_dir(output, prompts))

    def write_files(self, output, examples: ImageExamples, result, show_trajectory: bool = False,
                    run_info: dict | None = None) -> list[Path]:
        """The files of edit_files.py in one folder (output=DIR, else beside the prompts), written atomically,
        with run.json (seed, config, checkpoint, versions) so that the edits can be made again."""
        self._tok()
        folder = self.output_dir(output, examples.source)
        files = edit_files(self, examples, result, show_trajectory)
        if run_info is not None:
            files["run.json"] = (json.dumps(run_info, indent=1, default=str) + "\n").encode()

        def fill(tmp: Path) -> None:
            for name, data in files.items():
                (tmp / name).write_bytes(data)

        atomic_write_dir(folder, fill)
        return [folder / name for name in files]


def _print_report(what: str, metrics: dict) -> None:
    print_table(f"rm prepare: image {what}", [(key, str(value)) for key, value in metrics.items()], first="what")
