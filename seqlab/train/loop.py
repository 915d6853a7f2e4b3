"""One training loop for every task: clipping, schedules, carried state, early stop, resume.

``fit`` runs over a re-iterable of batches (with ``len``) and a model that keeps the task
contract of :mod:`seqlab.models.base`: ``model.loss(batch, state)`` returns the summed loss, the
count it covers, the state to carry (language models: the recurrent state of each stream row;
others: ``None``) and named metric sums. A carried state is detached before every batch
(truncated BPTT). Figures are token-weighted: sums and counts are added over the batches (and
over processes) and divided once by ``model.metrics``.

It logs fixed-width lines (or draws a live progress bar in a terminal), appends JSON records
to ``metrics_path``, evaluates on the validation batches at each epoch end (and every
``eval_every`` steps), keeps the best value of the selection metric (``train.metric``, the
task's own by default, with its direction: perplexity down, F1 up) and hands checkpoints to a
callback. Everything needed to continue is in :class:`Progress` plus the model, optimizer,
schedule, carried state and RNG state, which the checkpoint stores.

Under ``torchrun`` (``dist.world > 1``) the model runs inside DistributedDataParallel; each
process reads its shard of every batch, the loss is divided by the *global* count, so the
averaged gradient equals the single-process one and the weights stay equal to float tolerance.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from seqlab.config import TrainConfig
from seqlab.errors import SeqlabError
from seqlab.train.averaging import WeightAverage, averaged
from seqlab.train.distributed import SINGLE, Dist
from seqlab.train.metrics import metric_direction
from seqlab.train.optim import LRSchedule
from seqlab.train.progress import Reporter, format_metric


@dataclass
class Progress:
    """Where training stands: the next epoch (from 1), batches done in it, steps, best metric."""

    epoch: int = 1
    batch: int = 0
    step: int = 0
    best_valid: float | None = None  # best value of the selection metric so far
    bad_evals: int = 0
    epoch_totals: dict[str, float] = field(default_factory=dict)  # this epoch's sums so far
    epoch_seconds: float = 0.0  # wall seconds spent in this epoch before the current (re)start
    history: list[dict] = field(default_factory=list)
    stopped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        data = dict(data)
        if "epoch_nll" in data:  # checkpoints of format 1 (language models only)
            data["epoch_totals"] = {"loss": data.pop("epoch_nll"),
                                    "count": data.pop("epoch_tokens", 0)}
        if data.get("best_valid") is not None and not math.isfinite(data["best_valid"]):
            data["best_valid"] = None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def detach(state: Any) -> Any:
    """Cut the autograd graph behind a carried state (tensor or tuple of tensors)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


def to_device(obj: Any, device: torch.device) -> Any:
    """Move every tensor inside ``obj`` (tensor, tuple, list, dict, dataclass) to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device, non_blocking=True)
    if isinstance(obj, (tuple, list)):
        return type(obj)(to_device(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if hasattr(obj, "__dataclass_fields__") and hasattr(obj, "to"):
        return obj.to(device)
    return obj


def _autocast(device: torch.device, amp: str):
    if amp == "none":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def add_totals(totals: dict[str, float], out: Any, loss: float | None = None) -> None:
    """Add one batch's loss sum, count and metric sums to ``totals``."""
    totals["loss"] = totals.get("loss", 0.0) + (out.loss.item() if loss is None else loss)
    totals["count"] = totals.get("count", 0) + int(out.count)
    for name, value in out.sums.items():
        totals[name] = totals.get(name, 0.0) + float(value)


class Evaluation:
    """Summed totals of a split and the model's figures from them (``ev.ppl``, ``ev.count``)."""

    def __init__(self, totals: dict[str, float], metrics: dict[str, float]) -> None:
        self.totals, self.metrics = totals, metrics

    @property
    def count(self) -> int:
        return int(self.totals.get("count", 0))

    def __getattr__(self, name: str) -> float:
        if name in ("totals", "metrics"):
            raise AttributeError(name)
        if name in self.metrics:
            return self.metrics[name]
        if name in self.totals:
            return self.totals[name]
        raise AttributeError(f"no figure {name!r}: the model reports {sorted(self.metrics)}")


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: Iterable, device: str | torch.device = "cpu",
             max_batches: int | None = None, amp: str = "none",
             dist: Dist = SINGLE) -> Evaluation:
    """Totals and figures over a whole split, carrying state across batches like training.

    Batches marked ``sharded`` are this process's part of the split: totals are summed over
    processes, so every process gets the figure of the whole split.
    """
    device = torch.device(device)
    was_training = model.training
    model.eval()
    totals: dict[str, float] = {"loss": 0.0, "count": 0}
    state = None
    for i, batch in enumerate(data):
        if max_batches is not None and i >= max_batches:
            break
        with _autocast(device, amp):
            out = model.evaluate_batch(to_device(batch, device), state)
        state = out.state
        add_totals(totals, out)
    model.train(was_training)
    if dist.world > 1 and getattr(data, "sharded", False):
        totals = dist.sum_totals(totals)
    return Evaluation(totals, model.metrics(totals))


class _LossForward(torch.nn.Module):
    """``forward(batch, state) = model.loss(batch, state)``, so DDP sees the loss computation."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any, state: Any = None):
        return self.model.loss(batch, state)


def selection(model: Any, cfg: TrainConfig) -> tuple[str, str]:
    """The validation figure that picks the best checkpoint, and "min" or "max"."""
    default_name, default_mode = getattr(model, "selection", ("loss", "min"))
    name = cfg.metric or default_name
    if cfg.metric_mode != "auto":
        return name, cfg.metric_mode
    return name, default_mode if name == default_name else metric_direction(name)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def denormals_flushed() -> bool:
    """Whether the CPU flushes float32 denormals to zero now (torch has no getter)."""
    return bool((torch.tensor([1e-39]) * 1.0).item() == 0.0)


@contextlib.contextmanager
def flush_denormals(enabled: bool = True):
    """Flush denormals to zero inside the block (if ``enabled``), restoring the mode after.

    A gradient that vanishes backwards through hundreds of steps passes through float32's
    denormal range (below 1.2e-38), where CPU arithmetic is an order of magnitude slower: a
    GRU step on the adding problem at T = 600 took 4.4x longer without the flush.
    """
    before = denormals_flushed()
    if enabled and not before:
        torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if enabled and not before:
            torch.set_flush_denormal(False)


def _cpu_denormals_flushed(train: Callable) -> Callable:
    @functools.wraps(train)
    def wrapper(model, train_data, valid_data, cfg, **kwargs):
        on = cfg.flush_denormal and torch.device(cfg.device).type == "cpu"
        with flush_denormals(on):
            return train(model, train_data, valid_data, cfg, **kwargs)
    return wrapper


@_cpu_denormals_flushed
def fit(model: torch.nn.Module, train_data: Iterable, valid_data: Iterable, cfg: TrainConfig,
        *, optimizer: torch.optim.Optimizer, schedule: LRSchedule,
        progress: Progress | None = None, carry: Any = None,
        save: Callable[[Progress, Any, bool], None] | None = None,
        log: Callable[[str], None] = print, metrics_path: str | Path | None = None,
        max_eval_batches: int | None = None, dist: Dist = SINGLE,
        grad_hook: Callable[[int, torch.nn.Module], Any] | None = None,
        average: WeightAverage | None = None) -> Progress:
    """Train ``model`` until ``cfg.epochs``, ``cfg.max_steps``, ``cfg.time_limit`` or early stop.

    On CPU, denormals are flushed to zero while it runs (``cfg.flush_denormal``, see
    :func:`flush_denormals`).

    Args:
        model: a task model (:class:`seqlab.models.base.TaskModel` contract).
        train_data, valid_data: re-iterables of batches with ``len``; ``train_data`` may have
            ``set_epoch(epoch)`` (called before each epoch, for per-epoch shuffles).
        cfg: optimizer-independent training options (clip, epochs, schedule, logging...).
        optimizer, schedule: built by :mod:`seqlab.train.optim` (or restored from a checkpoint).
        progress: where to resume (default: the start).
        carry: state to resume a mid-epoch run with.
        save: called as ``save(progress, state, is_best)`` at every checkpoint point (on every
            process: gathering the state is collective; only rank 0 writes).
        log: where progress lines go (rank 0 only).
        metrics_path: JSON-lines file that receives one record per log line and evaluation.
        max_eval_batches: evaluate on at most this many validation batches (dry runs).
        dist: the process group (default: one process).
        grad_hook: called as ``grad_hook(step, model)`` after every backward, on unscaled
            gradients, before clipping (e.g. :class:`seqlab.diagnostics.GradientMonitor`).
        average: a weight average (``train.ema``) updated after every step; validation (and
            the ``save`` of a best checkpoint, which the caller does inside
            ``average.applied()``) sees the averaged weights.

    Returns:
        The final :class:`Progress` (``history`` holds one record per evaluation).
    """
    device = torch.device(cfg.device)
    progress = progress or Progress()
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp == "fp16")
    params = [p for p in model.parameters() if p.requires_grad]
    steps_per_epoch = len(train_data)  # type: ignore[arg-type]
    metric, mode = selection(model, cfg)
    lead = dist.rank == 0
    reporter = Reporter(log if lead else (lambda line: None), cfg.progress_bar if lead else "off",
                        unit=getattr(model, "count_name", "tok"))
    model.to(device)
    runner: Any = model.loss
    if dist.world > 1:
        runner = dist.wrap(_LossForward(model), device)

    def emit(record: dict) -> None:
        if metrics_path is not None and lead:
            with open(metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    def improved(value: float) -> bool:
        if not math.isfinite(value):
            return False
        best = progress.best_valid
        return best is None or (value < best if mode == "min" else value > best)

    def evaluate_and_record(epoch: int, train_totals: dict, state: Any) -> bool:
        """Validate, update schedule/best/early-stop counters, checkpoint. True = stop."""
        train_seconds = epoch_time()
        started = time.perf_counter()
        if dist.world > 1:
            train_totals = dist.sum_totals(train_totals)
        train_figures = model.metrics(train_totals) if train_totals.get("count") else {}
        with averaged(average):
            valid = evaluate(model, valid_data, device, max_eval_batches, cfg.amp, dist)
        if metric not in valid.metrics:
            raise SeqlabError(f"train.metric={metric!r} is not a figure of this model; it "
                              f"reports {sorted(valid.metrics)}")
        record = {"event": "valid", "epoch": epoch, "step": progress.step, "lr": schedule.lr,
                  **{f"train_{k}": v for k, v in train_figures.items()},
                  **{f"valid_{k}": v for k, v in valid.metrics.items()},
                  "train_tokens": int(train_totals.get("count", 0)),
                  "train_seconds": train_seconds, "world_size": dist.world}
        progress.history.append(record)
        emit(record)
        shown = " | ".join(f"valid {format_metric(k, valid.metrics[k])}"
                           for k in ("loss", *model.log_metrics) if k in valid.metrics)
        reporter.line(f"| eval  epoch {epoch:3d} | step {progress.step:7d} | time "
                      f"{epoch_time():7.1f}s | eval {time.perf_counter() - started:5.1f}s | "
                      f"{shown} |")
        value = valid.metrics[metric]
        schedule.end_epoch(value if mode == "min" else -value)
        is_best = improved(value)
        if is_best:
            progress.best_valid, progress.bad_evals = value, 0
        else:
            progress.bad_evals += 1
        stop = bool(cfg.patience) and progress.bad_evals >= cfg.patience
        if stop:
            progress.stopped = (f"early stop: no better valid {metric} for {cfg.patience} "
                                "evaluations")
        if save is not None:
            save(progress, state, is_best)
        return stop

    epoch_start = run_start = time.perf_counter()
    epoch_before = 0.0  # the epoch's seconds before this (re)start, set per epoch below

    def epoch_time() -> float:
        return epoch_before + time.perf_counter() - epoch_start

    model.train()
    while progress.epoch <= cfg.epochs and not progress.stopped:
        epoch = progress.epoch
        schedule.start_epoch(epoch)
        if hasattr(train_data, "set_epoch"):
            train_data.set_epoch(epoch)
        epoch_start = time.perf_counter()
        state = to_device(carry, device) if progress.batch else None  # fresh state each epoch
        carry = None
        if progress.batch == 0:
            progress.epoch_totals, progress.epoch_seconds = {}, 0.0
        epoch_before = progress.epoch_seconds  # a mid-epoch resume: the time before it
        totals = progress.epoch_totals  # the epoch's sums, added to in place (resumed: so far)
        window: dict[str, float] = {}
        counted, last = 0, time.perf_counter()
        reporter.start_epoch(epoch, steps_per_epoch, progress.batch)
        for i, batch in enumerate(train_data):
            if i < progress.batch:  # resuming mid-epoch: skip batches already trained on
                continue
            # Truncated BPTT: a carried state flows on from the previous batch (each stream
            # row continues its text), but gradients stop at the batch's start. Without
            # detach, backward would run through every earlier window: time and memory grow
            # without bound, and the graph of windows already optimised would be reused.
            state = detach(state)
            with _autocast(device, cfg.amp):
                out = runner(to_device(batch, device), state)
            state = out.state
            divisor = out.sequences if cfg.loss_reduction == "sequence" else out.count
            scale = 1.0
            if dist.world > 1:  # the global divisor; DDP averages gradients over processes
                divisor, global_count = dist.sum_ints(divisor, out.count)
                scale = float(dist.world)
            else:
                global_count = out.count
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(out.loss * (scale / max(divisor, 1))).backward()
            if cfg.clip > 0 or grad_hook is not None:
                scaler.unscale_(optimizer)
            if grad_hook is not None:
                grad_hook(progress.step + 1, model)
            if cfg.clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            scaler.step(optimizer)
            scaler.update()
            progress.batch, progress.step = i + 1, progress.step + 1
            if average is not None:
                average.update(progress.step)
            schedule.after_step(progress.step)
            value = out.loss.item()
            if not math.isfinite(value) and cfg.amp != "fp16":  # fp16: the scaler skips steps
                raise SeqlabError(f"training diverged: loss is {value} at step {progress.step} "
                                  f"(lr {schedule.lr:g}); lower train.lr or set train.clip")
            add_totals(totals, out, value)
            progress.epoch_seconds = epoch_time()
            add_totals(window, out, value)
            counted += global_count
            reporter.step(value / max(out.count, 1), counted / max(time.perf_counter() - last,
                                                                   1e-9))
            if progress.step % cfg.log_every == 0 or progress.batch == steps_per_epoch:
                now = time.perf_counter()
                rate = counted / max(now - last, 1e-9)
                figures = model.metrics(window)
                # figures a training batch cannot give (NaN, e.g. BLEU) stay off the line
                shown = " | ".join(format_metric(k, figures[k])
                                   for k in ("loss", *model.log_metrics)
                                   if k in figures and not _is_nan(figures[k]))
                reporter.train_line(
                    f"| epoch {epoch:3d} | {progress.batch:6d}/{steps_per_epoch:6d} batches | "
                    f"lr {schedule.lr:8.5f} | {reporter.unit}/s {rate:8.0f} | {shown} |")
                emit({"event": "train", "epoch": epoch, "step": progress.step,
                      "lr": schedule.lr, **figures, f"{reporter.unit}_s": rate})
                window, counted, last = {}, 0, now
            out_of_steps = bool(cfg.max_steps) and progress.step >= cfg.max_steps
            out_of_time = bool(cfg.time_limit) and time.perf_counter() - run_start > cfg.time_limit
            if dist.world > 1:  # every process must stop at the same step
                out_of_time = dist.any(out_of_time)
            end_of_epoch = progress.batch == steps_per_epoch
            if cfg.eval_every and progress.step % cfg.eval_every == 0 and not end_of_epoch:
                if evaluate_and_record(epoch, totals, state):
                    reporter.close()
                    return progress
            elif (cfg.checkpoint_every and progress.step % cfg.checkpoint_every == 0
                  and not end_of_epoch and save is not None):
                save(progress, state, False)
            if out_of_steps or out_of_time:
                progress.stopped = (f"reached max_steps={cfg.max_steps}" if out_of_steps else
                                    f"reached time_limit={cfg.time_limit:g}s")
                break
        reporter.end_epoch()
        if progress.batch == steps_per_epoch:
            progress.epoch, progress.batch = epoch + 1, 0
            evaluate_and_record(epoch, totals, None)
        elif progress.stopped.startswith("reached time_limit") and not (
                progress.history and progress.history[-1]["step"] == progress.step):
            evaluate_and_record(epoch, totals, state)  # the figure the time bought
        elif save is not None:  # stopped mid-epoch (max_steps): a resume point, no evaluation
            save(progress, state, False)
    reporter.close()
    return progress
