"""train.ema: the weight average against a hand-written one, its checkpoints and exact resume."""

from __future__ import annotations

import json

import pytest
import torch

from seqlab.cli.main import main
from seqlab.config import TrainConfig
from seqlab.errors import ConfigError
from seqlab.train.averaging import WeightAverage
from seqlab.train.checkpoint import load_checkpoint
from seqlab.train.loop import evaluate, fit
from seqlab.train.optim import LRSchedule, build_optimizer
from tests.models.contract import classifier_tiny, cli_flags
from tests.train.test_loop import ToyBatches, ToyClassifier, hand_loop, quiet


def test_fit_with_ema_equals_a_hand_written_average():
    cfg = TrainConfig(optimizer="adam", lr=0.02, epochs=2, log_every=1000, clip=0.5,
                      loss_reduction="token", schedule="constant", ema=0.9)
    train_data, valid = ToyBatches(96, 0), ToyBatches(48, 1)
    torch.manual_seed(0)
    model = ToyClassifier()
    opt = build_optimizer(model, cfg)
    average = WeightAverage(model, cfg.ema)
    progress = fit(model, train_data, valid, cfg, optimizer=opt,
                   schedule=LRSchedule(opt, cfg, len(train_data)), log=quiet, average=average)

    torch.manual_seed(0)
    ref = ToyClassifier()
    shadow = [p.detach().clone() for p in ref.parameters()]
    valid_losses = []

    def fold(t):  # the average, written out
        d = min(0.9, (1 + t) / (10 + t))
        shadow[:] = [d * s + (1 - d) * p.detach() for s, p in zip(shadow, ref.parameters())]

    def score(epoch):
        averaged = ToyClassifier()
        averaged.load_state_dict(ref.state_dict())
        with torch.no_grad():
            for p, s in zip(averaged.parameters(), shadow):
                p.copy_(s)
        valid_losses.append(evaluate(averaged, valid).loss)

    hand_loop(ref, torch.optim.Adam(ref.parameters(), lr=0.02), train_data, epochs=2, clip=0.5,
              after_step=fold, after_epoch=score)
    # training itself goes on with the raw weights, untouched by the average
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)
    for name, s in zip(dict(ref.named_parameters()), shadow):
        torch.testing.assert_close(average.shadow[name], s)
    # validation saw the averaged weights, not the raw ones
    torch.testing.assert_close(torch.tensor([h["valid_loss"] for h in progress.history]),
                               torch.tensor(valid_losses))
    assert evaluate(model, valid).loss != pytest.approx(valid_losses[-1], rel=1e-6)


def test_frozen_parameters_are_not_averaged():
    model = torch.nn.Sequential(torch.nn.Embedding(4, 3), torch.nn.Linear(3, 2))
    model[0].weight.requires_grad_(False)
    assert set(WeightAverage(model, 0.99).shadow) == {"1.weight", "1.bias"}


def test_bad_decay_is_named():
    with pytest.raises(ConfigError, match=r"train\.ema"):
        TrainConfig(ema=1.0)



def test_best_checkpoint_holds_the_average_and_resume_is_exact(tmp_path):
    tables = classifier_tiny(tmp_path)
    tables["train"].update(ema=0.95, epochs=2, eval_every=7)
    flags = cli_flags(tables)
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", "classifier", *flags, "--out-dir", str(straight)]) == 0
    assert main(["train", "classifier", *flags, "--out-dir", str(split), "--max-steps", "11"]) == 0
    assert main(["train", "classifier", "--out-dir", str(split), "--resume",
                 "--max-steps", "0"]) == 0
    a, b = (load_checkpoint(d / "last.safetensors") for d in (straight, split))
    assert all(torch.equal(a.model_state[k], b.model_state[k]) for k in a.model_state)
    averaged = {k: v for k, v in a.tensors.items() if k.startswith("average/")}
    assert averaged and all(torch.equal(v, b.tensors[k]) for k, v in averaged.items())
    best = load_checkpoint(straight / "best.safetensors")
    # best is an averaged model: its weights are the average of some evaluation, not raw ones
    assert not any(k.startswith("average/") for k in best.tensors)
    name = next(iter(averaged))[len("average/"):]
    assert not torch.equal(best.model_state[name], a.model_state[name])
    # the final figures come from that averaged checkpoint: they equal what validation saw
    result = json.loads((straight / "result.json").read_text())
    accuracies = [h["valid_accuracy"] for h in result["history"]]
    first_best = result["history"][accuracies.index(max(accuracies))]
    assert result["valid_loss"] == pytest.approx(first_best["valid_loss"], rel=1e-5)


def test_resuming_a_run_without_ema_with_it_is_refused(tmp_path, capsys):
    tables = classifier_tiny(tmp_path)
    flags = cli_flags(tables)
    assert main(["train", "classifier", *flags, "--max-steps", "3"]) == 0
    capsys.readouterr()
    assert main(["train", "classifier", *flags, "--train.ema", "0.9", "--resume"]) == 1
    assert "train.ema: checkpoint 0.0, run 0.9" in capsys.readouterr().err
