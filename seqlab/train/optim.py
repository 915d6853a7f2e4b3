"""Optimizers and learning-rate schedules built from a :class:`~seqlab.config.TrainConfig`.

Schedules (``train.schedule``), with e = epoch counted from 1 and lr0 = ``train.lr``:

- ``step`` (Zaremba et al. 2014): lr_e = lr0 * lr_decay ** max(0, e - decay_start)
  (small model: lr 1 for epochs 1-4, then halved every epoch).
- ``plateau``: multiply lr by ``lr_decay`` when validation loss has not improved for more than
  ``plateau_patience`` epochs; never below ``min_lr``.
- ``cosine``: per optimizer step, lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * s / S)) / 2 over
  the S steps of the whole run.
- ``constant``: lr0 throughout.

The schedule's whole state is a small dict, saved in checkpoints so a resumed run continues
with exactly the learning rate the uninterrupted one would have used.
"""

from __future__ import annotations

import math

import torch

from seqlab.config import TrainConfig


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """SGD (optionally with momentum), Adam or AdamW over ``model``'s parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                               weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


class LRSchedule:
    """Sets the optimizer's learning rate at epoch starts, epoch ends and (cosine) each step."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: TrainConfig,
                 steps_per_epoch: int) -> None:
        self.optimizer = optimizer
        self.cfg = cfg
        self.total_steps = max(1, steps_per_epoch * cfg.epochs)
        if cfg.max_steps:
            self.total_steps = min(self.total_steps, cfg.max_steps)
        self.lr = cfg.lr
        self.best = math.inf
        self.bad_epochs = 0
        self._apply()

    def _apply(self) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr

    def start_epoch(self, epoch: int) -> None:
        if self.cfg.schedule == "step":
            self.lr = self.cfg.lr * self.cfg.lr_decay ** max(0, epoch - self.cfg.decay_start)
            self._apply()

    def after_step(self, step: int) -> None:
        if self.cfg.schedule == "cosine":
            progress = min(1.0, step / self.total_steps)
            low = self.cfg.min_lr
            self.lr = low + (self.cfg.lr - low) * 0.5 * (1.0 + math.cos(math.pi * progress))
            self._apply()

    def end_epoch(self, valid_loss: float) -> None:
        if self.cfg.schedule != "plateau":
            return
        if valid_loss < self.best:
            self.best, self.bad_epochs = valid_loss, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.cfg.plateau_patience:
            self.lr = max(self.cfg.min_lr, self.lr * self.cfg.lr_decay)
            self.bad_epochs = 0
            self._apply()

    def state_dict(self) -> dict:
        return {"lr": self.lr, "best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.lr, self.best, self.bad_epochs = state["lr"], state["best"], state["bad_epochs"]
        self._apply()
