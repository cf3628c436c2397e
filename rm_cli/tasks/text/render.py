"""`rm infer show_trajectory=true` for text: the answer region at every turn, changes marked.

Masked positions print as a shaded block; a token re-masked this turn is a red block, a token
revealed this turn is green; trailing end tokens are dropped so a short answer reads short.
"""

from rich.text import Text

from rm_cli.tasks.text.layout import LEFT_MASKED as MASKED  # light shade, as completions show a position left masked


def render_turns(tokenizer, trajectory, prompt_len: int) -> list[Text]:
    """One rich Text per state of one example's trajectory [turns + 1, N]."""
    mask, end = tokenizer.mask_id, tokenizer.end_id
    frames = []
    for s in range(trajectory.shape[0]):
        now = [int(t) for t in trajectory[s, prompt_len:]]
        before = [int(t) for t in trajectory[max(s - 1, 0), prompt_len:]]
        remasked = sum(1 for a, b in zip(before, now) if b == mask and a != mask) if s else 0
        revealed = sum(1 for a, b in zip(before, now) if a == mask and b != mask) if s else 0
        text = Text(f"turn {s}: {remasked} re-masked, {revealed} revealed, {now.count(mask)} masked\n", style="bold")
        last = max((i for i, t in enumerate(now) if t != end or before[i] != end), default=-1)
        for i in range(last + 1):
            token, old = now[i], before[i]
            style = ""
            if s and token == mask and old != mask:
                style = "bold white on red"
            elif s and token != mask and old == mask:
                style = "bold green"
            shown = MASKED if token == mask else ("<end>" if token == end else tokenizer.token_text(token) or f"<{token}>")
            if i and tokenizer.joiner:
                text.append(tokenizer.joiner)
            text.append(shown, style=style)
        frames.append(text)
    return frames
