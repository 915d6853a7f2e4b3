"""Per-parameter gradient norms during training, with an exploding-gradient warning.

:class:`GradientMonitor` is a hook for :func:`seqlab.train.loop.fit` (``grad_hook=``, called
after every backward, before clipping, on unscaled gradients) or for any hand-written loop
(``monitor(step, model)`` after ``loss.backward()``). Per step it records the L2 norm of each
parameter's gradient and the total norm ``||g|| = sqrt(sum_p ||g_p||^2)``, and when a clip
threshold ``clip`` is known, what clipping did: the scale ``min(1, clip / (||g|| + 1e-6))``
(torch's formula) and the norm after it.

Exploding detection: a step whose total norm exceeds ``factor`` times the mean of the
previous ``window`` steps' norms is an *event*: logged as a warning (``logging``, logger
``seqlab.diagnostics``) and kept in ``events``, naming the step, the jump and the three
parameters with the largest gradients. Non-finite norms are events too.

Example:
    >>> import torch
    >>> layer = torch.nn.Linear(2, 1)
    >>> monitor = GradientMonitor(factor=10.0, clip=1.0, log=lambda line: None)
    >>> for step, scale in enumerate([1.0, 1.0, 1.0, 100.0], 1):
    ...     layer.zero_grad()
    ...     (scale * layer(torch.ones(1, 2))).sum().backward()
    ...     record = monitor(step, layer)
    >>> [e["step"] for e in monitor.events], monitor.history[-1]["clip_scale"] < 0.01
    ([4], True)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from torch import nn

from seqlab.errors import ConfigError

log = logging.getLogger("seqlab.diagnostics")


class GradientMonitor:
    """Records gradient norms per step and warns when they jump (module docstring).

    Args:
        factor: a total norm above ``factor`` x the recent mean is an exploding event (> 1).
        window: how many previous steps the recent mean covers.
        clip: the clipping threshold the loop applies (None: none), to report its effect.
        keep_parameters: record every parameter's norm per step (False: only the total).
        log: where warnings go (default: the ``seqlab.diagnostics`` logger's warning).
    """

    def __init__(self, factor: float = 10.0, window: int = 10, clip: float | None = None,
                 keep_parameters: bool = True, log: Callable[[str], None] | None = None) -> None:
        if not (isinstance(factor, int | float) and factor > 1):
            raise ConfigError(f"factor must be a number > 1, got {factor!r}")
        if not isinstance(window, int) or window < 1:
            raise ConfigError(f"window must be an int >= 1, got {window!r}")
        if clip is not None and not clip > 0:
            raise ConfigError(f"clip must be > 0 or None, got {clip!r}")
        self.factor, self.window, self.clip = float(factor), window, clip
        self.keep_parameters = keep_parameters
        self.log = log or log_warning
        self.history: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def __call__(self, step: int, model: nn.Module) -> dict[str, Any]:
        norms = {name: float(p.grad.detach().double().norm())
                 for name, p in model.named_parameters() if p.grad is not None}
        total = math.sqrt(sum(v * v for v in norms.values())) if norms else 0.0
        record: dict[str, Any] = {"step": step, "total": total}
        if self.clip is not None:
            scale = min(1.0, self.clip / (total + 1e-6)) if math.isfinite(total) else 0.0
            record.update(clip_scale=scale, clipped_total=total * scale,
                          clipped=scale < 1.0)
        if self.keep_parameters:
            record["parameters"] = norms
        recent = [h["total"] for h in self.history[-self.window:] if math.isfinite(h["total"])]
        mean = sum(recent) / len(recent) if recent else None
        if not math.isfinite(total) or (mean is not None and total > self.factor * mean):
            top = sorted(norms.items(), key=lambda kv: -kv[1] if math.isfinite(kv[1])
                         else -math.inf)[:3]
            jump = total / mean if mean else math.inf
            event = {"step": step, "total": total, "recent_mean": mean, "jump": jump,
                     "top": top, "clip_scale": record.get("clip_scale")}
            self.events.append(event)
            clipped = (f"; clipping scaled it by {record['clip_scale']:.3g} to "
                       f"{record['clipped_total']:.3g}" if self.clip is not None else
                       "; no clipping")
            self.log(f"exploding gradient at step {step}: norm {total:.4g} is {jump:.3g}x the "
                     f"mean of the last {len(recent)} steps ({mean if mean else 0:.4g}){clipped};"
                     f" largest: " + ", ".join(f"{n} {v:.3g}" for n, v in top))
        self.history.append(record)
        return record

    def totals(self) -> list[float]:
        """The total norm of every recorded step."""
        return [h["total"] for h in self.history]

    def summary(self) -> dict[str, Any]:
        """Steps, events, max/median total norm, the fraction of steps clipping changed."""
        totals = sorted(t for t in self.totals() if math.isfinite(t))
        out: dict[str, Any] = {"steps": len(self.history), "events": len(self.events),
                               "max_norm": totals[-1] if totals else None,
                               "median_norm": totals[len(totals) // 2] if totals else None}
        if self.clip is not None and self.history:
            out["clipped_fraction"] = sum(h["clipped"] for h in self.history) / len(self.history)
        return out


def log_warning(line: str) -> None:
    log.warning(line)


def total_grad_norm(parameters) -> float:
    """``sqrt(sum ||g_p||^2)`` over the parameters that have a gradient."""
    sq = [float(p.grad.detach().double().norm()) ** 2 for p in parameters if p.grad is not None]
    return math.sqrt(sum(sq))


__all__ = ["GradientMonitor", "total_grad_norm"]
