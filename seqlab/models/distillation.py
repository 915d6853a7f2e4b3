r"""Knowledge distillation for classifiers: a student learns the teachers' probabilities too.

Hinton, Vinyals & Dean (2015), "Distilling the knowledge in a neural network". With teacher
checkpoints ``model.teachers`` (one or several: their mean probability, i.e. the ensemble),
weight ``a = model.distill_weight`` and temperature ``T = model.distill_temperature``, the
training loss of text ``i`` with scores ``s_i`` is::

    q_i   = mean_k softmax(s^(k)_i / T)                  # the teachers', in eval mode, no grad
    p^T_i = softmax(s_i / T)
    l_i   = (1 - a) * w_{y_i} * (-log softmax(s_i)_{y_i})
            + a * T^2 * KL(q_i || p^T_i),   KL(q || p) = sum_c q_c (log q_c - log p_c)

(multi-label: q_ic = mean_k sigmoid(s^(k)_ic / T) and the soft term is
T^2 * sum_c [BCE(sigmoid(s_ic / T), q_ic) - H(q_ic)], the binary KL per label). T^2 keeps the
soft term's gradient on the scale of the hard one (Hinton et al., section 2). Validation and
every figure still use the hard labels only, so a distilled run's validation loss compares
with an ordinary one's. The teachers are read at the first training step, never saved in the
student's checkpoint: a distilled model predicts, evaluates and exports alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from seqlab.errors import ConfigError


def teacher_paths(spec: str) -> list[str]:
    """``"a.safetensors,b.safetensors"`` -> the paths (empty spec: none)."""
    return [part.strip() for part in spec.split(",") if part.strip()]


class Teachers:
    """Classifier checkpoints whose mean probability is the student's soft target."""

    def __init__(self, paths: Sequence[str], assets: Mapping[str, Any]) -> None:
        from seqlab.tasks import build_model
        from seqlab.train.checkpoint import load_checkpoint

        self.models: list[nn.Module] = []
        for path in paths:
            if not Path(path).exists():
                raise ConfigError(f"model.teachers: no checkpoint at {path}")
            ckpt = load_checkpoint(path)
            if ckpt.task != "classifier":
                raise ConfigError(f"model.teachers: {path} is a checkpoint of task "
                                  f"{ckpt.task!r}, not a classifier")
            for key in ("labels", "vocab", "multi_label"):
                if ckpt.assets.get(key) != assets.get(key):
                    raise ConfigError(f"model.teachers: {path} was trained with another "
                                      f"{key.replace('_', ' ')} than this run (a teacher must "
                                      "read the same token ids and labels)")
            model = build_model(ckpt).eval()
            for p in model.parameters():
                p.requires_grad_(False)
            self.models.append(model)
        if not self.models:
            raise ConfigError("model.teachers: no checkpoint named")

    def to(self, device: torch.device) -> Teachers:
        self.models = [m.to(device) for m in self.models]
        return self

    @torch.no_grad()
    def probabilities(self, tokens: Tensor, lengths: Tensor, temperature: float,
                      multi_label: bool) -> Tensor:
        """q: the teachers' mean probability at ``temperature`` (B, C)."""
        out = []
        for model in self.models:
            scores = model(tokens, lengths)[0] / temperature
            out.append(torch.sigmoid(scores) if multi_label else torch.softmax(scores, -1))
        return torch.stack(out).mean(0)


def soft_loss(scores: Tensor, q: Tensor, temperature: float, multi_label: bool) -> Tensor:
    """T^2 * KL(q || p^T) summed over the batch (module docstring)."""
    z, q = scores / temperature, q.to(scores.dtype)
    if multi_label:
        qc = q.clamp(1e-7, 1 - 1e-7)
        entropy = -(qc * qc.log() + (1 - qc) * (1 - qc).log())
        bce = nn.functional.binary_cross_entropy_with_logits(z, q, reduction="none")
        kl = (bce - entropy).sum()
    else:
        kl = nn.functional.kl_div(torch.log_softmax(z, -1), q, reduction="sum")
    return (temperature ** 2) * kl
