"""Edit instructions in words, and the three tokens the model reads: (verb, position, class).

Accepted: "replace the top-left item with a sneaker", "remove the bottom-right item", "add a bag
in the top-right" and the like: case, punctuation, articles and filler words are free; the verb,
the position and (for replace/add) the class are required. A class named with "remove" ("remove
the bag in the top-left") is accepted and not used: the model is told only where to remove.
"""

import re
from dataclasses import dataclass

from rm_cli.errors import UserError
from rm_cli.tasks.image.fashion import CLASSES
from rm_cli.tasks.image.scenes import POSITIONS

VERBS = ("replace", "remove", "add")
REPLACE, REMOVE, ADD = range(3)
NONE = "none"  # the class slot of "remove", and every slot when instructions are hidden
WORDS = (*VERBS, *POSITIONS, *CLASSES, NONE)  # the instruction vocabulary, in token order
FILLER = {"the", "a", "an", "item", "items", "object", "thing", "one", "with", "in", "at", "on", "of", "to", "into",
          "pair", "corner", "quadrant", "image", "please", "by", "and"}
ALIASES = {"t-shirt/top": "t-shirt", "tshirt": "t-shirt", "top": "t-shirt", "trousers": "trouser", "pants": "trouser",
           "sandals": "sandal", "sneakers": "sneaker", "bags": "bag", "ankle-boot": "ankle boot", "boot": "ankle boot",
           "upper-left": "top-left", "upper-right": "top-right", "lower-left": "bottom-left", "lower-right": "bottom-right",
           "delete": "remove", "erase": "remove", "swap": "replace", "put": "add", "insert": "add", "place": "add"}
_JOIN = [(r"\b(top|bottom|upper|lower) (left|right)\b", r"\1-\2"), (r"\bankle boots?\b", "ankle-boot"),
         (r"\bt shirt\b", "t-shirt")]


@dataclass(frozen=True)
class Instruction:
    verb: int  # REPLACE | REMOVE | ADD
    quadrant: int  # 0..3
    cls: int | None  # Fashion-MNIST class; None for remove

    def words(self) -> tuple[str, str, str]:
        return VERBS[self.verb], POSITIONS[self.quadrant], NONE if self.cls is None else CLASSES[self.cls]

    def text(self) -> str:
        verb, pos, cls = self.words()
        if self.verb == REMOVE:
            return f"remove the {pos} item"
        thing = "trousers" if cls == "trouser" else f"{'an' if cls[0] in 'aeiou' else 'a'} {cls}"
        return f"replace the {pos} item with {thing}" if self.verb == REPLACE else f"add {thing} in the {pos}"


def accepted_words() -> str:
    return (f"verbs: {', '.join(VERBS)}; positions: {', '.join(POSITIONS)}; classes: {', '.join(CLASSES)} "
            f"(e.g. \"replace the top-left item with a sneaker\", \"remove the bottom-right item\", \"add a bag in the top-right\")")


def parse(text: str) -> Instruction:
    """The instruction a sentence asks for; UserError naming the accepted words otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise UserError(f"empty instruction; accepted {accepted_words()}")
    s = re.sub(r"[.,;:!?\"']", " ", text.lower())
    s = re.sub(r"\s+", " ", s).strip()
    for pattern, repl in _JOIN:
        s = re.sub(pattern, repl, s)
    verbs, positions, classes = [], [], []
    for word in s.split(" "):
        word = ALIASES.get(word, word)
        if word in VERBS:
            verbs.append(VERBS.index(word))
        elif word in POSITIONS:
            positions.append(POSITIONS.index(word))
        elif word in CLASSES:
            classes.append(CLASSES.index(word))
        elif word not in FILLER:
            raise UserError(f"unknown word {word!r} in instruction {text!r}; accepted {accepted_words()}")
    for what, found in (("verb", verbs), ("position", positions)):
        if len(found) != 1:
            raise UserError(f"instruction {text!r} names {len(found)} {what}s, expected one; accepted {accepted_words()}")
    verb = verbs[0]
    if verb != REMOVE and len(classes) != 1:
        raise UserError(f"instruction {text!r}: {VERBS[verb]} needs exactly one class; accepted {accepted_words()}")
    if verb == REMOVE and len(classes) > 1:
        raise UserError(f"instruction {text!r} names {len(classes)} classes; remove takes at most one")
    return Instruction(verb, positions[0], None if verb == REMOVE else classes[0])
