"""Where prompt and answer sit in a sequence, and turning records into token tensors.

    [ pad ... pad | prompt tokens ]  [ answer tokens | end end ... end ]
      prompt_len (fixed context)       answer_len (editable)

The prompt is left-padded to `prompt_len` so every answer starts at the same position, which
batches without attention masks and gives a from-scratch model fixed answer positions. The
answer region is editable; an answer is followed by end tokens up to `answer_len` (LLaDA's
padding), so the model learns where to stop and every completion has a defined length. At
decoding time the whole answer region starts masked.

A prompt longer than `prompt_len` is an error naming its line, or with `truncate_prompt` keeps
its last `prompt_len` tokens and is flagged in the results. A training answer must leave room for
at least one end token.
"""

from dataclasses import dataclass, field

import torch

from rm_cli.errors import UserError
from rm_cli.tasks.base import Examples
from rm_cli.tasks.text.files import Record


@dataclass
class TextExamples(Examples):
    """Examples plus their records (prompt, reference answer, id) and, for a benchmark, its items."""

    records: list = field(default_factory=list)
    truncated: list = field(default_factory=list)
    benchmark: object = None
    items: list | None = None

    def take(self, n: int | None) -> "TextExamples":
        if n is None:
            return self
        base = super().take(n)
        items = None if self.items is None else self.items[:n]
        return TextExamples(**vars(base), records=self.records[:n], truncated=self.truncated[:n],
                            benchmark=self.benchmark, items=items)


def encode(tokenizer, records: list[Record], prompt_len: int, answer_len: int, source, with_gold: bool,
           truncate_prompt: bool = False) -> TextExamples:
    """Token tensors of `records`: inputs with the answer region masked, editable = answer region,
    and (with_gold) the gold sequences, whose answers must fit with at least one end token."""
    P, A = prompt_len, answer_len
    inputs, golds, truncated = [], [], []
    for r in records:
        try:
            p = tokenizer.encode_prompt(r.prompt)
            a = tokenizer.encode_answer(r.answer) if with_gold else []
        except ValueError as e:
            raise UserError(str(e), path=source, line=r.line) from None
        cut = len(p) > P
        if cut and not truncate_prompt:
            raise UserError(f"prompt has {len(p)} tokens, more than the model's prompt context of {P} (task.prompt_len); "
                            f"shorten it, or pass task.truncate_prompt=true to keep its last {P} tokens",
                            path=source, line=r.line)
        p = p[-P:]
        truncated.append(cut)
        context = [tokenizer.pad_id] * (P - len(p)) + p
        inputs.append(context + [tokenizer.mask_id] * A)
        if with_gold:
            if len(a) >= A:
                raise UserError(f"answer has {len(a)} tokens; the answer region (task.answer_len={A}) holds at most "
                                f"{A - 1} plus the end token", path=source, line=r.line)
            golds.append(context + a + [tokenizer.end_id] * (A - len(a)))
    inputs = torch.tensor(inputs, dtype=torch.long).view(len(records), P + A)
    editable = torch.zeros_like(inputs, dtype=torch.bool)
    editable[:, P:] = True
    gold = torch.tensor(golds, dtype=torch.long).view(len(records), P + A) if with_gold else None
    return TextExamples(inputs, editable, gold, str(source), [r.line for r in records], records=list(records),
                        truncated=truncated)


def answer_ids(tokenizer, tokens: torch.Tensor, prompt_len: int) -> list[int]:
    """The answer a decoded sequence holds: its answer region up to the first end token."""
    answer = [int(t) for t in tokens[prompt_len:]]
    return answer[: answer.index(tokenizer.end_id)] if tokenizer.end_id in answer else answer


LEFT_MASKED = "\u2591"  # a position still masked when decoding stopped (fill_at_end=false), as render.py shows it


def completion(tokenizer, tokens: torch.Tensor, prompt_len: int) -> str:
    """That answer as text. A position left masked shows as LEFT_MASKED: the decoders drop special tokens,
    and '#### 1', a mask, '4' must not read (and score) as '#### 14'."""
    ids = answer_ids(tokenizer, tokens, prompt_len)
    if tokenizer.mask_id not in ids:
        return tokenizer.decode(ids)
    parts, part = [], []
    for i in ids:
        if i == tokenizer.mask_id:
            parts.append(part)
            part = []
        else:
            part.append(i)
    return LEFT_MASKED.join(tokenizer.decode(p) for p in [*parts, part])
