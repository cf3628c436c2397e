"""Tokenizers of the text task: the vocabulary always comes from the backbone's config.

`backbone.tokenizer` (a small dict in conf/backbone/*.yaml) says which tokenizer goes with the
network, and conf/task/text.yaml takes it from there, so a model and its vocabulary cannot be
chosen apart. Two kinds:

    char  the project's own character tokenizer (printable ASCII and newline) for `backbone=tiny`
    hf    a `transformers` AutoTokenizer from a local folder, a hub id already in the local cache,
          or `package:NAME/SUBDIR` (a folder shipped inside an installed Python package)

Each exposes the ids the task needs (mask, prompt pad, answer end) and a `fingerprint` that
changes whenever the token -> id map does: it is part of the task's signature, so a checkpoint
trained with another vocabulary is rejected before it decodes anything.
"""

import hashlib
import json
from pathlib import Path

from rm_cli.errors import UserError
from rm_cli.hf_backbones import resolve_path


class CharTokenizer:
    """One id per character: printable ASCII plus newline, and three special tokens (pad, end, mask).

    Unknown characters are an error, not an <unk>: a prompt the model cannot read must not be
    answered as if it had been read.
    """

    PAD, END, MASK = "<pad>", "<eos>", "<mask>"
    CHARS = "\n" + "".join(chr(c) for c in range(32, 127))

    def __init__(self):
        self.tokens = [self.PAD, self.END, self.MASK, *self.CHARS]
        self.ids = {ch: i for i, ch in enumerate(self.tokens)}
        self.pad_id, self.end_id, self.mask_id = 0, 1, 2
        self.vocab_size = len(self.tokens)
        self.fingerprint = "char:ascii-v1"
        self.prompt_format = "plain"
        self.special_ids = {self.pad_id, self.end_id, self.mask_id}

    def _encode(self, text: str) -> list[int]:
        try:
            return [self.ids[ch] for ch in text]
        except KeyError as e:
            raise ValueError(f"character {e.args[0]!r} is not in the tiny tokenizer's vocabulary (printable ASCII and newline)") from None

    def encode_prompt(self, text: str) -> list[int]:
        return self._encode(text)

    def encode_answer(self, text: str) -> list[int]:
        return self._encode(text)

    def decode(self, ids) -> str:
        return "".join(self.tokens[i] for i in ids if i not in self.special_ids)

    def token_text(self, i: int) -> str:
        return self.tokens[i]

    joiner = ""  # how render_turns joins token texts


def _read_config_json(path: str, local_files_only: bool) -> dict:
    from transformers.utils import cached_file

    try:
        file = cached_file(path, "config.json", local_files_only=local_files_only)
        return json.loads(Path(file).read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: cannot read config.json for the mask token id ({str(e).splitlines()[0]})") from None


class HFTokenizer:
    """A `transformers` tokenizer with the ids the text task needs.

    mask_from: `tokenizer` (its own mask token: BERT, ModernBERT) or `config` (the model's
    config.json `mask_token_id`: LLaDA, Dream); `mask_token_id` set explicitly wins over both.
    end_token: the token that pads the answer region (null: eos, else sep, else pad).
    chat_template: apply the tokenizer's chat template to prompts when it has one.
    """

    def __init__(self, path: str, mask_from: str = "tokenizer", mask_token_id: int | None = None,
                 end_token: str | None = None, chat_template: bool = True, trust_remote_code: bool = False,
                 local_files_only: bool = True):
        from transformers import AutoTokenizer

        if mask_from not in ("tokenizer", "config"):
            raise UserError(f"tokenizer.mask_from must be 'tokenizer' or 'config', got {mask_from!r}")
        self.path = path
        folder = resolve_path(path)
        try:
            tok = AutoTokenizer.from_pretrained(folder, local_files_only=local_files_only, trust_remote_code=trust_remote_code)
        except (OSError, ValueError) as e:
            raise UserError(f"{path}: cannot load its tokenizer ({str(e).splitlines()[0]})") from None
        self.tok = tok
        if mask_token_id is None:
            mask_token_id = tok.mask_token_id if mask_from == "tokenizer" else \
                _read_config_json(folder, local_files_only).get("mask_token_id")
        if mask_token_id is None:
            where = "its tokenizer defines no mask token" if mask_from == "tokenizer" else "its config.json has no mask_token_id"
            raise UserError(f"{path}: {where}; a mask diffusion model needs one (set backbone.tokenizer.mask_token_id)")
        self.mask_id = int(mask_token_id)
        if end_token is None:
            end_id = next((i for i in (tok.eos_token_id, tok.sep_token_id, tok.pad_token_id) if i is not None), None)
        else:
            end_id = tok.convert_tokens_to_ids(end_token)
            if end_id is None or end_id == tok.unk_token_id:
                raise UserError(f"{path}: end_token {end_token!r} is not in the vocabulary")
        if end_id is None:
            raise UserError(f"{path}: the tokenizer has no eos, sep or pad token to end answers with; set backbone.tokenizer.end_token")
        self.end_id = int(end_id)
        self.pad_id = int(tok.pad_token_id) if tok.pad_token_id is not None else self.end_id
        self.vocab_size = max(len(tok), self.mask_id + 1)
        self.chat_template = bool(chat_template and getattr(tok, "chat_template", None))
        self.special_ids = set(tok.all_special_ids) | {self.mask_id, self.end_id, self.pad_id}
        vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
        digest = hashlib.sha1(json.dumps([vocab, self.mask_id, self.end_id]).encode()).hexdigest()[:12]
        self.fingerprint = f"hf:{type(tok).__name__}:{len(vocab)}:{digest}"
        # how prompts are written (the vocabulary alone does not say): a model trained on chat-formatted
        # prompts and scored on plain ones, or the other way round, reads text it never saw
        template = hashlib.sha1(str(tok.chat_template).encode()).hexdigest()[:12] if self.chat_template else None
        self.prompt_format = f"chat:{template}" if template else "plain"
        if self.mask_id == self.end_id:
            raise UserError(f"{path}: the mask token cannot also end answers; set backbone.tokenizer.end_token")

    def encode_prompt(self, text: str) -> list[int]:
        if self.chat_template:
            text = self.tok.apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False)
            return list(self.tok(text, add_special_tokens=False)["input_ids"])
        return list(self.tok(text, add_special_tokens=True)["input_ids"])

    def encode_answer(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids) -> str:
        return self.tok.decode([i for i in ids if i not in self.special_ids], skip_special_tokens=True).strip()

    def token_text(self, i: int) -> str | None:
        """The token's string; None for an id past the tokenizer's own (a mask id set beyond it)."""
        try:
            token = self.tok.convert_ids_to_tokens(int(i))
        except (IndexError, KeyError, ValueError, OverflowError):
            return None
        return None if token is None else str(token)

    joiner = " "


def load_tokenizer(spec):
    """The tokenizer a `backbone.tokenizer` dict describes."""
    if spec is None:
        raise UserError("task=text needs the backbone's tokenizer: choose backbone=tiny, hf_mlm or llada "
                        "(this backbone config has no `tokenizer` entry)")
    spec = dict(spec)
    kind = spec.pop("kind", None)
    if kind == "char":
        if spec:
            raise UserError(f"the char tokenizer takes no options, got: {', '.join(sorted(spec))}")
        return CharTokenizer()
    if kind == "hf":
        if not spec.get("path"):
            raise UserError("backbone.tokenizer.path is required for a Hugging Face tokenizer")
        try:
            return HFTokenizer(**spec)
        except TypeError as e:
            raise UserError(f"bad backbone.tokenizer options: {e}") from None
    raise UserError(f"backbone.tokenizer.kind must be 'char' or 'hf', got {kind!r}")
