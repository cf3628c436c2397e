"""Final answers of math completions: find them, then normalise them so that equal answers
written differently compare equal (exact match after normalisation, as MATH and Minerva score).

Normalisation follows Hendrycks et al. (MATH) and Lewkowycz et al. (Minerva), with two fixes
for known slips of Minerva's version: units are removed only as trailing words (Minerva removes
the substring "ft" anywhere, turning "\\left" into "\\le" and "\\infty" into "\\iny"), and commas
are removed only from numbers written with thousands separators (Minerva turns the list "1, 3"
into the number 13).
"""

import re

_NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+"


def last_boxed(text: str) -> str | None:
    """Contents of the last \\boxed{...} (or \\fbox{...}), braces balanced; `\\boxed 5` too."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    rest = text[start + (6 if text.startswith("\\boxed", start) else 5):]
    if rest.startswith(" ") and not rest.lstrip().startswith("{"):
        return re.split(r"[\s$]", rest.lstrip(), maxsplit=1)[0] or None
    open_at = rest.find("{")
    if open_at < 0 or rest[:open_at].strip():
        return None
    end = _group_end(rest, open_at)
    return None if end is None else rest[open_at + 1:end - 1]  # None: cut off inside the box


def _last_match(pattern: str, text: str) -> str | None:
    matches = list(re.finditer(pattern, text, flags=re.IGNORECASE | re.MULTILINE))
    return matches[-1].group(1).strip() if matches else None


def extract_math_answer(completion: str) -> str | None:
    """MATH / Minerva: the last \\boxed{}, else Minerva's "The final answer is X. I hope it is
    correct.", else "The answer is X"."""
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed
    minerva = r"final answer is[:\s]*(.+?)\s*(?:\.\s*I hope it is correct|$)"
    for pattern in (minerva, r"the answer is[:\s]*(.+?)(?:\.(?:\s|$)|$)"):
        found = _last_match(pattern, completion)
        if found:
            return found
    return None


def extract_number_answer(completion: str) -> str | None:
    """GSM8K: "The answer is N" (the few-shot format), else "#### N" (the dataset's, or "# # # #" as word
    pieces decode it), else the first number of a \\boxed{} ("\\boxed{18 \\text{ eggs}}"), else the last
    number in the text (lm-eval's flexible extract). A sign may come before a dollar ("-$5")."""
    for marker in (r"the answer is[:\s]*", r"#\s*#\s*#\s*#\s*"):
        found = list(re.finditer(marker + rf"(-?)\s*\$?\s*({_NUMBER})", completion, flags=re.IGNORECASE))
        if found:
            sign, number = found[-1].groups()
            return sign + number if not number.startswith("-") else number
    boxed = last_boxed(completion)
    if boxed is not None:
        inside = re.search(_NUMBER, joined_pieces(boxed))
        return inside.group(0) if inside else boxed
    numbers = re.findall(_NUMBER, completion)
    return numbers[-1] if numbers else None


def normalize_number(text: str) -> str:
    """"$1,234.50." -> "1234.5"; "18.0" -> "18"; text that is not a number comes back stripped."""
    s = text.strip().replace("\\$", "").replace("$", "").strip().rstrip(".")
    s = s.replace("\\!", "").replace("{,}", ",")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    if re.fullmatch(r"-?(\d+\.\d*|\.\d+)", s):
        whole, frac = s.split(".")
        frac = frac.rstrip("0")
        whole = whole if whole not in ("", "-") else whole + "0"
        s = f"{whole}.{frac}" if frac else whole
    if s in ("-0", "-0.0"):
        s = "0"
    return s


_UNITS = (r"(?:square\s+|cubic\s+|sq\s+)?(?:units?|degrees?|cm|centimeters?|meters?|km|inch|inches|feet|foot|ft|"
          r"miles?|mph|hours?|minutes?|seconds?|days?|years?|cents?|dollars?|pounds?|gm|grams?|students?|ways|"
          r"integers|digits|points|edges|meals|multiples)(?:\^?\{?[23]\}?)?")


def _unwrap(s: str, command: str) -> str:
    """\\text{abc} -> abc for one command, braces balanced, every occurrence."""
    out, i, key = [], 0, "\\" + command + "{"
    while True:
        j = s.find(key, i)
        if j < 0:
            return "".join(out) + s[i:]
        end = _group_end(s, j + len(key) - 1)
        k = len(s) if end is None else end - 1  # unbalanced: the rest is the argument
        out.append(s[i:j] + s[j + len(key):k])
        i = k + 1


def _group_end(s: str, start: int) -> int | None:
    """Index just past the brace group opening at s[start] ('{'), None when it never closes."""
    depth = 0
    for i in range(start, len(s)):
        depth += {"{": 1, "}": -1}.get(s[i], 0)
        if depth == 0:
            return i + 1
    return None


def _fix_fracs(s: str) -> str:
    """Both arguments of every \\frac braced: \\frac12 -> \\frac{1}{2}, \\frac1{x} -> \\frac{1}{x},
    \\frac{\\sqrt{3}}2 -> \\frac{\\sqrt{3}}{2} (groups balanced, fractions inside fractions too); \\sqrt2 -> \\sqrt{2}."""
    out, i = [], 0
    while (j := s.find("\\frac", i)) >= 0:
        k = j + len("\\frac")
        out.append(s[i:k])
        for _ in range(2):  # the numerator, then the denominator
            if k < len(s) and s[k] == "{" and (end := _group_end(s, k)) is not None:
                out.append("{" + _fix_fracs(s[k + 1:end - 1]) + "}")
                k = end
            elif k < len(s) and s[k].isalnum():
                out.append("{" + s[k] + "}")
                k += 1
            else:
                break
        i = k
    return re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", "".join(out) + s[i:])


_NAMED_VALUE = re.compile(r"\s*\\?[A-Za-z]+(?:_\{?\w+\}?)?(?:\([^()=]*\))?\s*=(?!=)")  # "x =", "v_0 =", "\\theta =", "f(2) ="


def normalize_math(answer: str, as_list: bool = False) -> str:
    """Canonical form of a final math answer (see the module docstring). as_list: commas between digits
    separate items, never thousands (math_equal decides)."""
    s = answer.strip()
    s = re.sub(r"\\left(?![a-zA-Z])|\\right(?![a-zA-Z])", "", s)
    s = re.sub(r",?\s*\\text\s*\{\s*and\s*\}\s*", ",", s)  # "1, 2, \text{and} 3" -> "1,2,3"
    s = re.sub(r"(?<=\S)\s*\\(?:text|mbox)\s*\{\s[^{}]*\}(?:\^\{?\d\}?)?\s*$", "", s)  # "18 \text{ integers}": units
    for command in ("text", "textbf", "mbox", "mathrm", "textrm", "boxed", "overline"):
        s = _unwrap(s, command)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace(",\\!", "")  # 14,\!400: a thousands separator
    s = re.sub(r"(?<!\\)\\[!,;: ]", "", s)  # LaTeX spacing commands (but not the row break "\\")
    for old in ("\\$", "$", "\\%", "%", "^{\\circ}", "^\\circ", "{,}", "\\displaystyle"):
        s = s.replace(old, "")
    if _NAMED_VALUE.match(s) and "\\begin" not in s:  # "x = 5" -> "5" (Minerva keeps the right-hand side), but
        s = s.split("=")[-1]                           # an equation ("x + y = 0", a plane, a circle) stays whole
    s = s.strip()
    for _ in range(2):  # "5 square units", "69 degrees." ...
        s = re.sub(rf"(?<=[\d}}\w)])\s*(?<![a-zA-Z]){_UNITS}\s*\.?$", "", s, flags=re.IGNORECASE).strip()
    s = re.sub(r"\s+", "", s).rstrip(".")
    s = _fix_fracs(s)
    m = re.fullmatch(r"(-?\d+)/(\d+)", s)  # 3/4 -> \frac{3}{4}
    if m:
        s = f"\\frac{{{m.group(1)}}}{{{m.group(2)}}}"
    s = re.sub(r"^\\frac\{-(\d+)\}", r"-\\frac{\1}", s)
    return s if as_list else normalize_number(s)


def math_equal(a: str | None, b: str | None) -> bool:
    """Equal after normalize_math. Where either writes a comma and a space between digits ('70, 110') both
    are lists: '70,110' is then that list too, not the number 70110 (nor is '70110' the list)."""
    if a is None or b is None:
        return False
    as_list = any(re.search(r"\d\s*,\s+-?\d", x) for x in (a, b))
    return normalize_math(a, as_list) == normalize_math(b, as_list)


def number_equal(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and normalize_number(a) == normalize_number(b)


# Worked solutions: the text task's answer files and benchmark=local. One rule for a reference and a completion.
_STATED = re.compile(r"#\s*#\s*#\s*#|the answer is:?", re.IGNORECASE)  # '# # # #': '####' as word pieces decode it
# units follow a space ("3.50 apples"; "%" may touch): "2x" or "3i" is algebra and "1,2" a list, compared as MATH
# answers are; commas only as thousands separators ("1,234")
_NUMBER_WITH_UNITS = re.compile(r"\$?-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*%|\s+[A-Za-z][A-Za-z%\s]*)?\.?")


def _final_statement(text: str) -> tuple[str, str] | None:
    """('stated', the text after the last '####' / 'The answer is') or ('boxed', the last \\boxed{}'s contents),
    whichever comes later in the text ("the answer is 6 ... no: \\boxed{3}" states 3); None when neither is there."""
    marks = list(_STATED.finditer(text))
    box_at = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if marks and marks[-1].end() > box_at:
        return "stated", text[marks[-1].end():]
    boxed = last_boxed(text) if box_at >= 0 else None
    return ("boxed", boxed) if boxed is not None else None


def stated_answer(text: str) -> str | None:
    """What a worked solution states as its final answer: the rest of the line after its last '####' or
    'The answer is' (a closing full stop dropped), or its last \\boxed{} where that comes later; None when it
    states none."""
    final = _final_statement(text)
    if final is None or final[0] == "boxed":
        return None if final is None else final[1]
    lines = final[1].strip().splitlines()
    return re.sub(r"\s*\.$", "", lines[0].strip()) if lines else ""


def joined_pieces(text: str) -> str:
    """Undo the spaces a word-piece tokenizer's decode puts inside a stated number (BERT reads '1,234' back
    as '1, 234', '3.5' as '3. 5', '-5' as '- 5'): a comma before exactly three digits and a point between
    digits close up, and a leading minus joins its number (inside a sum, '10 - 5', it stays apart)."""
    text = re.sub(r"(?<=\d)\s*,\s*(?=\d{3}(?!\d))", ",", text)
    text = re.sub(r"(?<=\d)\s*\.\s+(?=\d)|(?<=\d)\s+\.\s*(?=\d)", ".", text)
    return re.sub(r"^(\s*\$?\s*)-\s+(?=\.?\d)", r"\1-", text)


def latex_pieces_joined(text: str) -> str:
    """Undo the spaces a word-piece tokenizer's decode puts inside LaTeX (BERT reads '\\frac{\\pi}{2}' back as
    '\\ frac { \\ pi } { 2 }'): a command's name joins its backslash, and braces, '^' and '_' close up with
    what they touch (normalize_math drops the other spaces)."""
    text = re.sub(r"(?<!\\)\\\s+(?=[A-Za-z])", r"\\", text)
    return re.sub(r"\s*([{}^_])\s*", r"\1", text)


def final_number(completion: str) -> str | None:
    """The number a completion gives as its final answer: the first of its final statement (after its last
    '####' / 'The answer is', or its last \\boxed{} if later; None when that holds no number), else its
    last number. Word-piece spacing inside the stated number is undone (joined_pieces)."""
    final = _final_statement(completion)
    text, pick = (completion, -1) if final is None else (joined_pieces(final[1]), 0)
    numbers = re.findall(_NUMBER, text)
    return numbers[pick] if numbers else None


def grade(completion: str, solution: str) -> tuple[str | None, bool]:
    """(the completion's final answer, whether it is the solution's). The solution's final answer is what it
    states (see stated_answer), else the whole solution ('14', 'Paris'). A number (units allowed: '14',
    '-3.50 apples') is compared as a number, as GSM8K is; any other answer ('3/4', '\\frac{3}{4}', 'x + 1')
    as MATH is, by normalised exact match of the completion's \\boxed{} / stated answer / whole text."""
    want = stated_answer(solution)
    want = joined_pieces(solution if want is None else want).strip()
    if not want:
        return None, False
    if _NUMBER_WITH_UNITS.fullmatch(want):
        got = final_number(completion)
        return got, number_equal(got, re.search(_NUMBER, want.replace(",", "")).group(0))
    got = extract_math_answer(completion) or stated_answer(completion) or completion.strip() or None
    return got, math_equal(got, want)
