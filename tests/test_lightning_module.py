import pytest
import torch

from benchmarks.common import train_config
from rm_cli.config import validate_train
from rm_cli.errors import UserError
from rm_cli.lightning_module import RMLightningModule
from omegaconf import OmegaConf

TINY = ["backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2", "task.train_pool=200", "task.val_size=16"]


def _train_steps(module, steps: int, batch) -> list[float]:
    module.log = lambda *a, **k: None
    opt = torch.optim.AdamW(module.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        loss = module.training_step(batch, 0)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("objective,history", [("rm", "her"), ("rm", "code"), ("rm", "off"), ("mdm", "off")])
def test_objectives_learn_on_a_fixed_batch(objective, history):
    torch.manual_seed(0)
    module = RMLightningModule(train_config(f"objective={objective}", f"history={history}", *TINY))
    # One board, 32 different corruptions/maskings: learnable from positions alone, so a
    # single-layer model must drive every objective's loss down within a few dozen steps.
    batch = {k: v[:1].expand(32, -1).clone() for k, v in next(iter(module.task.train_stream(32, seed=0))).items()}
    batch["rule"] = next(iter(module.task.train_stream(32, seed=1)))["rule"]
    module.log = lambda *a, **k: None

    def loss_under_fixed_noise() -> float:  # same corruption / trajectory draw before and after
        torch.manual_seed(123)
        with torch.no_grad():
            return module.training_step(batch, 0).item()

    before = loss_under_fixed_noise()
    _train_steps(module, 60, batch)
    assert loss_under_fixed_noise() < 0.5 * before


def test_training_step_logs_the_three_loss_parts():
    torch.manual_seed(0)
    module = RMLightningModule(train_config(*TINY))
    logged = {}
    module.log = lambda name, value, **k: logged.__setitem__(name, float(torch.as_tensor(value).detach()))
    module.training_step(next(iter(module.task.train_stream(8, seed=0))), 0)
    assert {"train/loss", "train/reveal", "train/mask", "train/keep"} <= set(logged)


def test_a_loss_part_with_no_positions_in_the_step_is_not_logged_as_zero():
    torch.manual_seed(0)
    module = RMLightningModule(train_config(*TINY))
    real_loss = module.rm_loss

    def no_mask_positions(*args, **kwargs):
        parts = real_loss(*args, **kwargs)
        return {**parts, "mask": torch.tensor(0.0), "n_mask": torch.tensor(0)}

    module.rm_loss = no_mask_positions
    logged = {}
    module.log = lambda name, value, **k: logged.__setitem__(name, float(torch.as_tensor(value).detach()))
    module.training_step(next(iter(module.task.train_stream(8, seed=0))), 0)
    assert "train/mask" not in logged and logged["train/reveal"] > 0 and "train/keep" in logged


@pytest.mark.parametrize("override,message", [
    ("history.gamma=1.5", "history.gamma"),
    ("trajectory.length=1", "trajectory.length"),
    ("loss.keep_weight=-1", "loss weights"),
    ("resume=/no/such.ckpt", "resume"),
    ("objective=ar", "objective"),
    # values the optimizer or Lightning took, or crashed on late (the review of 2026-12-07)
    ("optim.min_lr_ratio=-1", r"optim.min_lr_ratio must be in \[0, 1\]"),  # the lr went negative
    ("optim.min_lr_ratio=nan", "optim.min_lr_ratio"), ("optim.lr=inf", "optim.lr must be a finite number"),
    ("optim.lr=abc", "optim.lr"), ("optim.weight_decay=-1", "optim.weight_decay"),
    ("optim.betas=[1.5,0.9]", "optim.betas"), ("optim.warmup_steps=-5", "optim.warmup_steps"),
    ("optim.warmup_steps=0.5", "optim.warmup_steps"), ("batch_size=abc", "batch_size must be a positive integer"),
    ("batch_size=64.0", "batch_size"), ("batch_size=true", "batch_size"), ("val.batch_size=0", "val.batch_size"),
    ("trainer.accumulate_grad_batches=0", "trainer.accumulate_grad_batches"),
    ("trainer.val_check_interval=0", "trainer.val_check_interval"), ("trainer.max_steps=2.5", "trainer.max_steps"),
    ("checkpoint_every_n_steps=2.5", "checkpoint_every_n_steps"), ("threads=-1", "threads"),
    # seed_everything refused -1 and 2**32 with a traceback after the model was built
    ("seed=-1", "seed must be a whole number from 0 to 4294967295, got -1"), ("seed=abc", "seed must be"),
    ("seed=4294967296", "seed must be"), ("seed=2.5", "seed must be"),
    ("history.kind=windw", "history.kind=.windw. is not one of: recurrence, window"),  # a ValueError traceback
    ("task.val_size=0", "task.val_size must be a positive integer, got 0"), ("task.train_pool=0", "task.train_pool"),
])
def test_validate_train_rejects_bad_values(override, message):
    cfg = OmegaConf.create(train_config(override))
    with pytest.raises(UserError, match=message):
        validate_train(cfg)


def test_history_on_a_backbone_without_embedding_access_is_rejected():
    cfg = train_config(*TINY)
    cfg["backbone"] = {"_target_": "test_lightning_module.NoEmbeddingBackbone"}
    with pytest.raises(UserError, match="exposes no input embedding table.*history=off"):
        RMLightningModule(cfg)
    cfg = train_config(*TINY, "history=off")
    cfg["backbone"] = {"_target_": "test_lightning_module.NoEmbeddingBackbone"}
    assert RMLightningModule(cfg).num_parameters() == 10 * 10 + 10  # fine without history


class NoEmbeddingBackbone(torch.nn.Module):
    """Scores one-hot tokens with a linear map: a valid backbone with no embedding table."""

    def __init__(self, vocab_size, seq_len, coordinates=None):
        super().__init__()
        self.proj = torch.nn.Linear(vocab_size, vocab_size)

    def forward(self, input_ids=None, inputs_embeds=None):
        return self.proj(torch.nn.functional.one_hot(input_ids, self.proj.in_features).float())


@pytest.mark.parametrize("objective,history", [("rm", "her"), ("rm", "off"), ("mdm", "off")])
def test_training_loss_scores_the_answer_without_computing_prompt_logits(objective, history):
    """A text batch's loss from answer-only logits equals the loss from the whole sequence's logits,
    and the head never sees a prompt position."""
    from rm_cli.mdm_loss import mdm_loss

    torch.manual_seed(0)
    module = RMLightningModule(train_config("task=text", "task.train_size=32", "task.val_size=4", "task.max_ops=1",
                                            "backbone=tiny", "backbone.n_layers=1", "backbone.d_model=32",
                                            "backbone.n_heads=2", f"objective={objective}", f"history={history}"))
    module.log = lambda *a, **k: None
    batch = module.draw(next(iter(module.task.train_stream(8, seed=0))), torch.Generator().manual_seed(0))
    prompt_len = module.task.prompt_len
    assert not batch["editable"][:, :prompt_len].any() and batch["editable"][:, prompt_len:].all()
    head_rows = []
    hook = module.model.backbone.head.register_forward_hook(lambda m, args, out: head_rows.append(args[0].shape[1]))
    sliced = module.training_step(batch, 0)
    hook.remove()
    assert head_rows == [module.task.seq_len - prompt_len]
    if objective == "mdm":
        full = mdm_loss(module.model.logits(batch["noisy"]), batch["gold"], batch["masked"], batch["ratio"],
                        batch["editable"])
    else:
        full = module.rm_loss(module.model.forward_trajectory(batch["states"], batch["t"]), batch["labels"],
                              batch["kind"], batch["editable"])["loss"]
    assert sliced.item() == pytest.approx(full.item(), rel=1e-5)


def test_logits_from_returns_the_tail_of_the_full_logits():
    from rm_cli.backbone import TransformerBackbone

    torch.manual_seed(0)
    backbone = TransformerBackbone(vocab_size=11, seq_len=9, d_model=16, n_layers=1, n_heads=2).eval()
    x = torch.randint(0, 11, (3, 9))
    full = backbone(input_ids=x)
    for start in (0, 1, 8):
        assert torch.allclose(backbone(input_ids=x, logits_from=start), full[:, start:], atol=1e-6)


def test_a_backbone_without_logits_from_is_sliced_after_its_forward():
    from rm_cli.model import Denoiser

    model = Denoiser(NoEmbeddingBackbone(vocab_size=10, seq_len=6), mask_id=9)
    x = torch.randint(0, 10, (2, 6))
    assert torch.equal(model.logits(x, logits_from=4), model.logits(x)[:, 4:])
    assert model.logits(x, logits_from=4).shape == (2, 2, 10)


def test_validation_token_accuracy_counts_the_editable_positions_only():
    """Half of the answer right, every fixed prompt position untouched: 50 %, not (prompt + half) / all."""
    from rm_cli.samplers.base import SampleResult

    module = RMLightningModule(train_config("task=sudoku", *TINY))
    gold = torch.arange(10).repeat(2, 1) % 9 + 1
    editable = torch.zeros_like(gold, dtype=torch.bool)
    editable[:, 6:] = True  # 4 answer positions a row, 6 fixed
    decoded = gold.clone()
    decoded[:, 8:] = 0  # 2 of the 4 wrong
    module.sampler = lambda model, inputs, editable, seeds: SampleResult(decoded, torch.ones(2), *[torch.zeros(1, 2)] * 3)
    module.task.validation_correct = lambda tokens, gold, editable: torch.zeros(2, dtype=torch.bool)
    logged = {}
    module.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    module.on_validation_epoch_start()
    module.validation_step((gold, editable, gold, torch.arange(2)), 0)
    module.on_validation_epoch_end()
    assert logged["val/token_acc"] == pytest.approx(50.0) and logged["val/exact"] == 0.0


def test_validation_counts_each_example_once_and_pools_token_accuracy_over_examples():
    """Under DDP the sampler repeats examples to split the set evenly: a repeated index counts once. Token accuracy
    is over all editable positions (a per-batch mean weighted by examples over-weighted short answers)."""
    from rm_cli.samplers.base import SampleResult

    module = RMLightningModule(train_config("task=sudoku", *TINY))
    gold = torch.ones(3, 6, dtype=torch.long)
    editable = torch.zeros_like(gold, dtype=torch.bool)
    editable[0, :1] = True  # example 0: one editable position, right
    editable[1:, :4] = True  # examples 1 and 2: four each, all wrong
    decoded = torch.where(editable & (torch.arange(3) > 0).view(3, 1), 0, gold)
    module.sampler = lambda model, inputs, editable, seeds: SampleResult(decoded[seeds % 1_000_003],
                                                                         torch.ones(len(seeds)), *[torch.zeros(1, len(seeds))] * 3)
    module.task.validation_correct = lambda tokens, gold, editable: ((tokens == gold) | ~editable).all(-1)
    logged = {}
    module.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    module.on_validation_epoch_start()
    for rows in ([0, 1], [2, 0]):  # example 0 again: the padding of an uneven split
        index = torch.tensor(rows)
        module.validation_step((gold[index], editable[index], gold[index], index), 0)
    module.on_validation_epoch_end()
    assert logged["val/exact"] == pytest.approx(100 / 3)  # 1 of 3 examples, not 2 of 4
    assert logged["val/token_acc"] == pytest.approx(100 / 9)  # 1 of 9 positions


def test_validation_draws_do_not_depend_on_the_validation_batch():
    """At temperature > 0 each validation example samples from its own seed (its index, as `rm eval` seeds
    test examples): it seeded by position in the batch, so val/* changed with val.batch_size."""
    module = RMLightningModule(train_config("task=sudoku", "task.mode=solve", *TINY, "sampler=vanilla", "sampler.temperature=1.0"))
    val = module.task.val_examples()
    decoded = []
    sampler = module.sampler

    def recording(*args, **kwargs):
        result = sampler(*args, **kwargs)
        decoded.append(result.tokens)
        return result

    module.sampler = recording
    module.log = lambda *a, **kw: None
    index = torch.arange(len(val.inputs))
    batches = {}
    for size in (len(index), 3):
        decoded.clear()
        for start in range(0, len(index), size):
            part = slice(start, start + size)
            module.validation_step((val.inputs[part], val.editable[part], val.gold[part], index[part]), 0)
        batches[size] = torch.cat(decoded)
    assert torch.equal(batches[len(index)], batches[3])
    assert not torch.equal(batches[3][0], batches[3][1])  # the draws differ between examples: not a constant
