"""The text task's pieces in process: tokenizer, arithmetic data, layout, RM rules, signature, scoring."""

import json
import re

import pytest
import torch

from rm_cli.benchmarks.base import get_benchmark
from rm_cli.benchmarks.math_answers import final_number, grade, stated_answer
from rm_cli.errors import UserError
from rm_cli.samplers.base import SampleResult
from rm_cli.tasks.text import TextTask, arithmetic
from rm_cli.tasks.text.files import Record, read_pairs, read_prompts
from rm_cli.tasks.text.layout import encode
from rm_cli.tasks.text.stream import assign_rules
from rm_cli.tasks.text.task import shipped_test_file
from rm_cli.tasks.text.tokenizers import CharTokenizer, load_tokenizer
from rm_cli.trajectory import KEEP, MASK, WRONG

CHAR = {"kind": "char"}


def small_task(**kw) -> TextTask:
    return TextTask(tokenizer=CHAR, train_size=64, val_size=8, **kw)


def test_char_tokenizer_round_trips_and_refuses_unknown_characters():
    tok = CharTokenizer()
    text = "Mia has 12 pears.\n12 + 7 = 19. #### 19"
    assert tok.decode(tok.encode_answer(text)) == text
    assert len({tok.mask_id, tok.end_id, tok.pad_id}) == 3 and tok.vocab_size == 99
    with pytest.raises(ValueError, match="'é' is not in the tiny tokenizer"):
        tok.encode_prompt("café")


def test_arithmetic_problems_are_seeded_and_their_worked_solutions_are_right():
    a, b = arithmetic.generate(7, 200), arithmetic.generate(7, 200)
    assert a == b and a != arithmetic.generate(8, 200)
    assert len({p["prompt"] for p in a}) == 200
    for p in a:
        steps = re.findall(r"(\d+) ([-+*/]) (\d+) = (\d+)\.", p["answer"])
        assert steps, p
        value = int(re.search(r"has (\d+)", p["prompt"]).group(1))
        for x, op, y, result in steps:  # each step starts from the previous result and is computed right
            assert int(x) == value
            value = {"+": int(x) + int(y), "-": int(x) - int(y), "*": int(x) * int(y), "/": int(x) // int(y)}[op]
            assert value == int(result) and value >= 0 and (op != "/" or int(x) % int(y) == 0)
        assert stated_answer(p["answer"]) == str(value)


@pytest.mark.parametrize("text,expected", [("so 3 + 4 = 7. #### 7", "7"), ("#### 1,200", "1,200"), ("it is 14.0", "14.0"),
                                           ("no number", None), ("#### -3.50 apples", "-3.50"), ("#### #", None),
                                           ("7 - 4 = 3. # # # # 3 (not 4)", "3"), ("The answer is 9. Then 2", "9"),
                                           (r"so \boxed{12} of 13", "12")])
def test_final_number_reads_the_first_after_the_last_marker_else_the_boxed_else_the_last(text, expected):
    assert final_number(text) == expected


@pytest.mark.parametrize("output,reference,expected", [
    ("2 + 3 = 5. #### 5", "#### 5", ("5", True)),
    ("#### 6", "#### 5", ("6", False)),
    ("#### 5", "", (None, False)),  # a reference with no answer matches nothing
    ("19 #### #", "#### 19", (None, False)),  # a completion that states no number after its marker has none
    ("#### 3/5", "#### 3/4", ("3/5", False)),  # not the first number of each (3 = 3)
    ("#### 3 / 4", "#### 3/4", ("3 / 4", True)),
    (r"Thus \boxed{\frac{1}{4}}.", r"so \boxed{\frac{3}{4}}.", (r"\frac{1}{4}", False)),  # not the last number (4 = 4)
    (r"\boxed{\frac34}", r"so \boxed{\frac{3}{4}}.", (r"\frac34", True)),
    ("# # # # x + 1", "#### x+1", ("x + 1", True)),
    ("#### -3.5", "#### -3.50 apples", ("-3.5", True)),  # a number with units is compared as a number
    ("2 + 3 = 6. #### 5", "x = 5. #### 5", ("5", True)),
    ("so 1,200 in all", "The answer is 1200.", ("1,200", True)),
    ("The capital is Paris", "Paris", ("The capital is Paris", False)), ("Paris", "Paris", ("Paris", True)),
    # an uncased word-piece tokenizer's read-back: "1, 234", "3. 5", "- 5" after the marker are numbers whole
    ("# # # # 1, 234", "# # # # 1, 234", ("1,234", True)), ("# # # # 1, 235", "#### 1,234", ("1,235", False)),
    ("# # # # 3. 5", "#### 3.5", ("3.5", True)), ("# # # # - 5", "# # # # - 5", ("-5", True)),
    ("# # # # 5", "# # # # - 5", ("5", False)), ("so 10 - 5", "5", ("5", True)),  # a minus inside a sum stays apart
    ("#### 2y", "so #### 2x", ("2y", False)), ("The answer is 3", "#### 3i", ("3", False)),  # algebra, not units
    ("The answer is 12", "1,2", ("12", False)),  # a list, not a thousands separator
    (r"\boxed{3}", "One might say the answer is 6, but no.\nSo \\boxed{3} ways.", ("3", True)),  # the later one
    ("#### 6", "One might say the answer is 6, but no.\nSo \\boxed{3} ways.", ("6", False)),
])
def test_grade_compares_numbers_as_numbers_and_other_answers_as_math(output, reference, expected):
    """The one scorer of rm eval's exact_pct, val/exact and benchmark=local."""
    assert grade(output, reference) == expected


def test_benchmark_local_scores_as_the_text_task_does(tmp_path):
    rows = [("#### 3/4", "#### 3/4"), ("so 5 #### #", "#### 5"), ("7 - 4 = 3. # # # # 3", "#### 3"), ("#### 2", "3")]
    path = tmp_path / "answers.jsonl"
    path.write_text("".join(json.dumps({"prompt": "q", "answer": a}) + "\n" for _, a in rows))
    local = get_benchmark("local", path=path)
    for item, (completion, answer) in zip(local.items(), rows):
        assert local.score(item, completion)["correct"] is grade(completion, answer)[1]
    assert [local.score(i, c)["correct"] for i, (c, _) in zip(local.items(), rows)] == [True, False, True, False]


def test_layout_left_pads_the_prompt_masks_the_answer_and_pads_gold_with_end_tokens():
    tok = CharTokenizer()
    ex = encode(tok, [Record(3, "abc", "xy")], prompt_len=5, answer_len=4, source="f", with_gold=True)
    assert ex.inputs[0].tolist() == [tok.pad_id] * 2 + tok.encode_prompt("abc") + [tok.mask_id] * 4
    assert ex.gold[0, 5:].tolist() == tok.encode_answer("xy") + [tok.end_id] * 2
    assert ex.editable[0].tolist() == [False] * 5 + [True] * 4
    with pytest.raises(UserError, match=r"^f:3: prompt has 6 tokens, more than the model's prompt context of 5"):
        encode(tok, [Record(3, "abcdef", "x")], 5, 4, "f", with_gold=True)
    cut = encode(tok, [Record(3, "abcdef", None)], 5, 4, "f", with_gold=False, truncate_prompt=True)
    assert cut.truncated == [True] and cut.inputs[0, :5].tolist() == tok.encode_prompt("bcdef")
    with pytest.raises(UserError, match=r"^f:3: answer has 4 tokens; the answer region \(task.answer_len=4\) holds at most 3"):
        encode(tok, [Record(3, "a", "wxyz")], 5, 4, "f", with_gold=True)


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
def test_rules_make_exactly_the_wrong_share_of_answer_positions_wrong(rate):
    editable = torch.zeros(64, 30, dtype=torch.bool)
    editable[:, 10:] = True
    rule = assign_rules(editable, rate, "fixed", torch.Generator().manual_seed(0))
    assert (rule[:, :10] == KEEP).all() and not (rule[:, 10:] == KEEP).any()
    assert ((rule == WRONG).sum(-1) == round(rate * 20)).all()
    assert ((rule == MASK).sum(-1) == 20 - round(rate * 20)).all()
    varied = assign_rules(editable, 0.6, "uniform", torch.Generator().manual_seed(0))
    assert len(set((varied == WRONG).sum(-1).tolist())) > 3 and (varied == WRONG).sum(-1).max() <= 12


def test_train_val_and_test_problems_are_disjoint_and_the_stream_is_seeded():
    task = small_task()
    train, _ = task._train_records()
    val = task.val_examples()
    test = {r.prompt for r in read_pairs(shipped_test_file())}
    train_p, val_p = {r.prompt for r in train}, {r.prompt for r in val.records}
    assert len(train_p) == 64 and len(val_p) == 8 and not (train_p & val_p) and not (train_p | val_p) & test
    a, b = next(iter(task.train_stream(16, seed=3))), next(iter(task.train_stream(16, seed=3)))
    assert all(torch.equal(a[k], b[k]) for k in a) and set(a) == {"gold", "editable", "rule"}
    assert (a["gold"][a["editable"]] != task.mask_id).all()


def test_signature_pins_the_vocabulary_and_an_unbound_task_takes_the_checkpoints():
    trained = small_task()
    unbound = TextTask(tokenizer=None)
    assert unbound.signature() == trained.signature()  # eval/infer without backbone=: anything goes
    assert TextTask(tokenizer=None, answer_len=40).signature() != trained.signature()
    bound = unbound.for_checkpoint(trained)
    assert bound.signature() == trained.signature() and bound.tokenizer is trained.tokenizer
    with pytest.raises(UserError, match="task=text needs the backbone's tokenizer"):
        unbound.vocab_size
    with pytest.raises(UserError, match="needs the backbone's tokenizer"):
        TextTask(tokenizer=None).train_stream(4, 0)


def test_evaluate_scores_the_final_answer_and_records_every_prediction(tmp_path):
    task = small_task(prompt_len=8, answer_len=24)
    rows = [{"prompt": "q1", "answer": "1 + 1 = 2. #### 2"}, {"prompt": "q2", "answer": "2 * 3 = 6. #### 6"}]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ex = task.eval_examples(path)
    tok = task.tokenizer
    outs = ["1 + 2 = 2. #### 2", "#### 7"]  # right final answer with a wrong step; wrong final answer
    tokens = ex.inputs.clone()
    for i, out in enumerate(outs):
        ids = tok.encode_answer(out)
        tokens[i, 8:] = torch.tensor(ids + [tok.end_id] * (24 - len(ids)))
    result = SampleResult(tokens, torch.tensor([3, 5]), torch.zeros(1, 2), torch.tensor([[1, 0]]), torch.zeros(1, 2))
    metrics, preds = task.evaluate(ex, result)
    assert metrics["exact_pct"] == 50.0 and metrics["sequence_exact_pct"] == 0.0
    assert metrics["nfe_per_example"] == 4.0 and metrics["remasks_per_example"] == 0.5
    assert [p["correct"] for p in preds] == [True, False] and preds[1]["extracted"] == "7"
    assert preds[0]["completion"] == outs[0] and preds[0]["reference"] == rows[0]["answer"] and preds[0]["line"] == 1
    # val/exact (which picks best.ckpt) counts what exact_pct counts: the final answer
    gold = encode(tok, [Record(i + 1, r["prompt"], r["answer"]) for i, r in enumerate(rows)], 8, 24, "f", with_gold=True)
    assert task.validation_correct(tokens, gold.gold, gold.editable).tolist() == [True, False]
    assert task.validation_correct(gold.gold, gold.gold, gold.editable).all()


def test_prompt_files_plain_and_jsonl_with_line_numbers_in_errors(tmp_path):
    plain = tmp_path / "p.txt"
    plain.write_text("first prompt\n\n  second  \n")
    assert [(r.line, r.prompt) for r in read_prompts(plain)] == [(1, "first prompt"), (3, "second")]
    bad = tmp_path / "p.jsonl"
    bad.write_text('{"prompt": "ok"}\n\n{"prompt": "x",\n')
    with pytest.raises(UserError, match=r"p.jsonl:3: not valid JSON"):
        read_prompts(bad)
    bad.write_text('{"prompt": "ok"}\n{"question": "x"}\n')
    with pytest.raises(UserError, match=r'p.jsonl:2: missing or empty "prompt" string'):
        read_prompts(bad)
    bad.write_text('{"prompt": "ok", "id": ' + "9" * 5000 + '}\n')  # past Python's integer digits: a ValueError
    with pytest.raises(UserError, match=r"p.jsonl:1: not valid JSON \(Exceeds the limit"):
        read_prompts(bad)
    bad.write_text('{"prompt": "ok"}\n' + "[" * 100_000 + "]" * 100_000 + "\n")  # a RecursionError
    with pytest.raises(UserError, match=r"p.jsonl:2: not valid JSON \(nested too deeply\)"):
        read_prompts(bad)
    empty = tmp_path / "e.txt"
    empty.write_text("\n  \n")
    with pytest.raises(UserError, match="e.txt: file holds no prompts"):
        read_prompts(empty)


def test_training_tables_load_through_datasets_with_clear_errors(tmp_path):
    good = tmp_path / "train.csv"
    good.write_text("prompt,answer\nhi,#### 1\nyo,#### 2\n")
    assert [(r.prompt, r.answer) for r in read_pairs(good)] == [("hi", "#### 1"), ("yo", "#### 2")]
    numbers = tmp_path / "numbers.csv"  # a column of final answers reads as numbers: taken as their text
    numbers.write_text("prompt,answer\nWhat is 2+2?,4\nWhat is 1.5*3?,4.5\n")
    assert [(r.line, r.answer) for r in read_pairs(numbers)] == [(2, "4"), (3, "4.5")]
    numbers.write_text("prompt,answer\nok,1\n,2\n")
    with pytest.raises(UserError, match="numbers.csv:3: prompt is empty"):  # the file's line, after the header
        read_pairs(numbers)
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"prompt": "a", "answer": "b"}\n[1, 2]\n')
    with pytest.raises(UserError, match="train.jsonl:2: expected a JSON object"):
        read_pairs(bad)
    bad.write_text('{"prompt": "a", "answer": "b"}\n\n{"prompt": "c", "answer": ""}\n')
    with pytest.raises(UserError, match="train.jsonl:3: answer is empty"):
        read_pairs(bad)
    bad.write_text('{"prompt": "a", "answer": "1"}\n{"prompt": "b", "answer": 2}\n')  # datasets blamed line 1
    with pytest.raises(UserError, match="train.jsonl:2: answer is not a string"):
        read_pairs(bad)
    bad.write_text('{"prompt": "a", "reply": "b"}\n')
    with pytest.raises(UserError, match=r"needs the fields \['answer', 'prompt'\]"):
        read_pairs(bad)
    for suffix in (".jsonl", ".json", ".csv"):  # an IndexError and a raw UnicodeDecodeError before
        empty, latin = tmp_path / f"empty{suffix}", tmp_path / f"latin{suffix}"
        empty.write_text("\n  \n")
        with pytest.raises(UserError, match=f"empty{suffix}: the file holds no records$"):
            read_pairs(empty)
        latin.write_bytes('{"prompt": "caf\u00e9", "answer": "1"}\n'.encode("latin-1") if suffix != ".csv"
                          else "prompt,answer\ncaf\u00e9,1\n".encode("latin-1"))
        with pytest.raises(UserError, match=f"latin{suffix}: not UTF-8 text; save it as UTF-8$"):
            read_pairs(latin)


def test_render_turns_marks_remasked_red_and_revealed_green():
    task = small_task(prompt_len=2, answer_len=4)
    tok = task.tokenizer
    a, b, m, e = tok.encode_answer("a")[0], tok.encode_answer("b")[0], tok.mask_id, tok.end_id
    traj = torch.tensor([[0, 0, m, m, m, m], [0, 0, a, m, m, m], [0, 0, m, b, e, e]])
    frames = task.render_turns(traj)
    assert frames[1].plain.startswith("turn 1: 0 re-masked, 1 revealed, 3 masked")
    assert frames[2].plain.startswith("turn 2: 1 re-masked, 3 revealed, 1 masked")
    styles = {frames[2].plain[s.start:s.end]: str(s.style) for s in frames[2].spans}
    assert "red" in styles["\u2591"] and "green" in styles["b"]
    assert frames[2].plain.rstrip().endswith("<end>")


def test_tokenizer_specs_are_checked():
    with pytest.raises(UserError, match="kind must be 'char' or 'hf'"):
        load_tokenizer({"kind": "bpe"})
    with pytest.raises(UserError, match="Python package 'no_such_pkg' is not installed"):
        load_tokenizer({"kind": "hf", "path": "package:no_such_pkg/model"})


@pytest.mark.parametrize("objective,history", [("rm", "her"), ("mdm", "off")])
def test_both_objectives_learn_a_fixed_text_batch(objective, history):
    from benchmarks.common import train_config
    from rm_cli.lightning_module import RMLightningModule

    torch.manual_seed(0)
    module = RMLightningModule(train_config("task=text", "backbone=tiny", "backbone.n_layers=1", "backbone.d_model=32",
                                            "backbone.n_heads=2", "task.train_size=16", "task.val_size=2",
                                            "task.prompt_len=100", "task.answer_len=24", "task.max_ops=1",
                                            f"objective={objective}", f"history={history}"))
    module.log = lambda *a, **k: None
    opt = torch.optim.AdamW(module.parameters(), lr=3e-3)
    stream = iter(module.task.train_stream(8, seed=0))
    batch = next(stream)

    def loss(seed: int):
        return module.training_step(module.draw(batch, torch.Generator().manual_seed(seed)), 0)

    with torch.no_grad():
        before = sum(loss(1000 + i).item() for i in range(4))
    for step in range(30):
        loss(step).backward()
        opt.step()
        opt.zero_grad()
    with torch.no_grad():
        after = sum(loss(1000 + i).item() for i in range(4))
    assert after < 0.6 * before, (before, after)


def test_native_candidates_of_the_answer_do_not_depend_on_the_chunk_size_and_never_offers_gold_or_mask():
    from benchmarks.common import train_config
    from rm_cli.lightning_module import RMLightningModule
    from rm_cli.corruption import native_candidates

    module = RMLightningModule(train_config("task=text", "backbone=tiny", "backbone.n_layers=1", "backbone.d_model=32",
                                            "backbone.n_heads=2", "task.train_size=16", "task.val_size=5")).eval()
    examples, P, model = module.task.val_examples(), module.task.prompt_len, module.model
    chunked = [native_candidates(model, examples.inputs, examples.gold, 4, rows, start=P) for rows in (1, 2, 5)]
    assert all(torch.equal(c, chunked[0]) for c in chunked) and chunked[0].shape == (5, module.task.answer_len, 4)
    with torch.no_grad():
        logits = model.logits(examples.inputs, model.start(examples.inputs))[:, P:]
    logits[..., model.mask_id] = float("-inf")
    logits.scatter_(-1, examples.gold[:, P:, None], float("-inf"))
    assert torch.equal(chunked[0].long(), logits.topk(4, dim=-1).indices)


def test_a_position_left_masked_shows_and_does_not_join_the_digits_around_it():
    from rm_cli.tasks.text.layout import LEFT_MASKED, completion

    tok = CharTokenizer()
    ids = tok.encode_answer("#### 1") + [tok.mask_id] + tok.encode_answer("4")
    row = torch.tensor([tok.pad_id] * 4 + ids + [tok.end_id] * 3)
    text = completion(tok, row, 4)
    assert text == f"#### 1{LEFT_MASKED}4" and grade(text, "#### 14") == ("1", False)
    assert completion(tok, torch.tensor([tok.pad_id] * 4 + tok.encode_answer("#### 14") + [tok.end_id]), 4) == "#### 14"


def test_infer_output_says_which_prompts_were_cut():
    """With task.truncate_prompt the completion answers the prompt's last tokens only: the terminal says so, not just
    the JSONL's truncated_prompt field."""
    from rich.console import Console

    task = small_task(prompt_len=5, answer_len=4, truncate_prompt=True)
    examples = encode(CharTokenizer(), [Record(3, "abcdef", None), Record(4, "abc", None)], 5, 4, "p.txt",
                      with_gold=False, truncate_prompt=True)
    console = Console(record=True, width=20)
    task.print_outputs(examples, ["x", "y"], console)
    headers = [line for line in console.export_text().splitlines() if line.startswith("──")]
    assert headers == ["── p.txt:3 (prompt cut to its last 5 tokens) ──", "── p.txt:4 ──"]


def test_a_missing_native_cache_is_named_missing(tmp_path):
    """A cache path that does not exist read 'not a text native corruption cache (no rm_native.json)'."""
    from rm_cli.tasks.text.native import read_cache

    with pytest.raises(UserError, match="no such native corruption cache; write it with rm prepare"):
        read_cache(tmp_path / "nope", {})
    (tmp_path / "folder").mkdir()
    with pytest.raises(UserError, match="not a text native corruption cache"):
        read_cache(tmp_path / "folder", {})
