"""Distillation (model.teachers): the loss against Hinton et al.'s formula written out here,
zero loss and gradient when the student is its teacher, errors, and a CLI run."""

from __future__ import annotations

import pytest
import torch

from seqlab.cli.main import main
from seqlab.config import RunConfig
from seqlab.errors import ConfigError
from seqlab.models.classifier import ClassifierConfig, RecurrentClassifier
from seqlab.tasks import get_task
from seqlab.train.checkpoint import load_checkpoint, save_checkpoint
from tests.models.contract import classifier_tiny, cli_flags

ASSETS = {"vocab_size": 30, "labels": ["a", "b", "c"]}
SHAPE = dict(embedding_dim=6, hidden_size=5, dropout=0.0, pooling="max")
BATCH = {"tokens": torch.tensor([[5, 6, 7, 8], [12, 13, 0, 0], [14, 15, 16, 0]]),
         "lengths": torch.tensor([4, 2, 3]), "labels": torch.tensor([0, 2, 1])}


def _save(tmp_path, name, seed, assets=ASSETS, **model):
    torch.manual_seed(seed)
    cfg = ClassifierConfig(**SHAPE, **model)
    net = RecurrentClassifier.from_config(cfg, assets)
    run = RunConfig.from_dict({"model": {**SHAPE, **model}},
                              base=get_task("classifier").default_config())
    return net, save_checkpoint(tmp_path / f"{name}.safetensors", model=net, task="classifier",
                                config=run.to_dict(), assets=net.assets())


def _student(paths, assets=ASSETS, **kw):
    torch.manual_seed(7)
    cfg = ClassifierConfig(**SHAPE, teachers=",".join(map(str, paths)), **kw)
    return RecurrentClassifier.from_config(cfg, assets)


@pytest.mark.parametrize("a, T", [(0.5, 1.0), (0.8, 3.0), (1.0, 2.0)])
def test_loss_is_hintons_mix_of_hard_and_soft_targets(tmp_path, a, T):
    t1, p1 = _save(tmp_path, "t1", 1)
    t2, p2 = _save(tmp_path, "t2", 2)
    student = _student([p1, p2], distill_weight=a, distill_temperature=T).eval()
    out = student.loss(BATCH)
    with torch.no_grad():
        s = student(BATCH["tokens"], BATCH["lengths"])[0]
        q = (torch.softmax(t1.eval()(BATCH["tokens"], BATCH["lengths"])[0] / T, -1)
             + torch.softmax(t2.eval()(BATCH["tokens"], BATCH["lengths"])[0] / T, -1)) / 2
    hard = -torch.log_softmax(s, -1)[torch.arange(3), BATCH["labels"]].sum()
    kl = (q * (q.log() - torch.log_softmax(s / T, -1))).sum()
    torch.testing.assert_close(out.loss, (1 - a) * hard + a * T * T * kl)
    # validation keeps the hard labels only
    torch.testing.assert_close(student.evaluate_batch(BATCH).loss, hard)


def test_multi_label_soft_term_is_the_binary_kl(tmp_path):
    assets = {"vocab_size": 30, "labels": ["x", "y"], "multi_label": True}
    teacher, path = _save(tmp_path, "t", 3, assets=assets)
    student = _student([path], assets=assets, distill_weight=1.0, distill_temperature=2.0)
    student.eval()
    batch = dict(BATCH, labels=torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
    with torch.no_grad():
        q = torch.sigmoid(teacher.eval()(batch["tokens"], batch["lengths"])[0] / 2)
        p = torch.sigmoid(student(batch["tokens"], batch["lengths"])[0] / 2)
    kl = (q * (q / p).log() + (1 - q) * ((1 - q) / (1 - p)).log()).sum()
    torch.testing.assert_close(student.loss(batch).loss, 4 * kl, rtol=1e-4, atol=1e-5)


def test_a_student_equal_to_its_teacher_has_zero_loss_and_gradient(tmp_path):
    teacher, path = _save(tmp_path, "t", 4)
    student = _student([path], distill_weight=1.0, distill_temperature=2.0).eval()
    student.load_state_dict(teacher.state_dict())
    loss = student.loss(BATCH).loss
    loss.backward()
    assert abs(loss.item()) < 1e-6
    assert max(p.grad.abs().max().item() for p in student.parameters()
               if p.grad is not None) < 1e-5


def test_bad_teachers_are_named(tmp_path):
    with pytest.raises(ConfigError, match="no checkpoint at"):
        _student([tmp_path / "missing.safetensors"]).loss(BATCH)
    _, other = _save(tmp_path, "other", 5, assets={"vocab_size": 30, "labels": ["a", "b"]})
    with pytest.raises(ConfigError, match="another labels"):
        _student([other]).loss(BATCH)
    with pytest.raises(ConfigError, match="model.distill_weight"):
        ClassifierConfig(distill_weight=1.5)



def test_a_distilled_run_predicts_without_its_teacher(tmp_path, capsys):
    tables = classifier_tiny(tmp_path)
    teacher = tmp_path / "teacher"
    assert main(["train", "classifier", *cli_flags(tables), "--out-dir", str(teacher)]) == 0
    tables["model"]["teachers"] = str(teacher / "best.safetensors")
    student = tmp_path / "student"
    assert main(["train", "classifier", *cli_flags(tables), "--out-dir", str(student)]) == 0
    ckpt = load_checkpoint(student / "best.safetensors")
    assert all(k.startswith(("model/", "optim/", "rng/")) for k in ckpt.tensors)
    (teacher / "best.safetensors").unlink()
    capsys.readouterr()
    assert main(["eval", str(student / "best.safetensors"), "--split", "test"]) == 0
    assert "accuracy" in capsys.readouterr().out
