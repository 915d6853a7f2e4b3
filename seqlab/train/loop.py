"""The language-model training loop: truncated BPTT, clipping, schedules, early stop, resume.

``fit`` runs over re-iterable streams of ``(x, y)`` windows (``seqlab.data.LMStream``: each
batch row is one contiguous slice of the corpus, so row b of window k+1 continues row b of
window k). It carries the recurrent state from one window to the next and detaches it, logs
fixed-width progress lines and JSON metrics, evaluates on the validation stream, and hands
checkpoints to a callback. Everything it needs to continue is in :class:`Progress` plus the
model, optimizer, schedule, carried state and RNG state, which the checkpoint stores.
"""

from __future__ import annotations

import contextlib
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
from seqlab.train.losses import token_nll
from seqlab.train.metrics import NLLMeter
from seqlab.train.optim import LRSchedule


@dataclass
class Progress:
    """Where training stands: the next epoch (from 1), batches done in it, steps, best metric."""

    epoch: int = 1
    batch: int = 0
    step: int = 0
    best_valid: float = math.inf
    bad_evals: int = 0
    epoch_nll: float = 0.0  # training NLL sum and token count so far in this epoch
    epoch_tokens: int = 0
    epoch_seconds: float = 0.0  # wall seconds spent in this epoch before the current (re)start
    history: list[dict] = field(default_factory=list)
    stopped: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detach(state: Any) -> Any:
    """Cut the autograd graph behind a carried state (tensor or tuple of tensors)."""
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


def _to(state: Any, device: torch.device) -> Any:
    if state is None or isinstance(state, torch.Tensor):
        return None if state is None else state.to(device)
    return tuple(s.to(device) for s in state)


def _autocast(device: torch.device, amp: str):
    if amp == "none":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


@torch.no_grad()
def evaluate(model: torch.nn.Module, data: Iterable, device: str | torch.device = "cpu",
             max_batches: int | None = None, amp: str = "none") -> NLLMeter:
    """Token-weighted NLL over a whole stream, carrying state across windows like training."""
    device = torch.device(device)
    was_training = model.training
    model.eval()
    meter, state = NLLMeter(), None
    for i, (x, y) in enumerate(data):
        if max_batches is not None and i >= max_batches:
            break
        x, y = x.to(device), y.to(device)
        with _autocast(device, amp):
            logits, state = model(x, state)
        nll, count = token_nll(logits, y)
        meter.add(nll.item(), count)
    model.train(was_training)
    return meter


def fit(model: torch.nn.Module, train_data: Iterable, valid_data: Iterable, cfg: TrainConfig,
        *, optimizer: torch.optim.Optimizer, schedule: LRSchedule,
        progress: Progress | None = None, carry: Any = None,
        save: Callable[[Progress, Any, bool], None] | None = None,
        log: Callable[[str], None] = print, metrics_path: str | Path | None = None,
        char_level: bool = False, max_eval_batches: int | None = None) -> Progress:
    """Train ``model`` until ``cfg.epochs``, ``cfg.max_steps`` or early stopping.

    Args:
        model: a module with ``forward(x, state) -> (logits, state)``.
        train_data, valid_data: re-iterable streams of (x, y) long tensors (B, T); ``len``.
        cfg: optimizer-independent training options (clip, epochs, schedule, logging...).
        optimizer, schedule: built by :mod:`seqlab.train.optim` (or restored from a checkpoint).
        progress: where to resume (default: the start).
        carry: recurrent state to resume a mid-epoch run with.
        save: called as ``save(progress, carry, is_best)`` at every checkpoint point.
        log: where progress lines go.
        metrics_path: JSON-lines file that receives one record per log line and evaluation.
        char_level: also report bits per character.
        max_eval_batches: evaluate on at most this many validation windows (dry runs).

    Returns:
        The final :class:`Progress` (``history`` holds one record per evaluation).
    """
    device = torch.device(cfg.device)
    progress = progress or Progress()
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp == "fp16")
    params = [p for p in model.parameters() if p.requires_grad]
    steps_per_epoch = len(train_data)  # type: ignore[arg-type]

    def emit(record: dict) -> None:
        if metrics_path is not None:
            with open(metrics_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    def evaluate_and_record(epoch: int, train_meter: NLLMeter, state: Any) -> bool:
        """Validate, update schedule/best/early-stop counters, checkpoint. True = stop."""
        train_seconds = epoch_time()
        started = time.perf_counter()
        valid = evaluate(model, valid_data, device, max_eval_batches, cfg.amp)
        record = {"event": "valid", "epoch": epoch, "step": progress.step, "lr": schedule.lr,
                  "train_loss": train_meter.loss, "train_ppl": train_meter.ppl,
                  "train_bpc": train_meter.bpc, "valid_loss": valid.loss,
                  "valid_ppl": valid.ppl, "valid_bpc": valid.bpc,
                  "train_tokens": train_meter.count, "train_seconds": train_seconds}
        progress.history.append(record)
        emit(record)
        figure = f"valid bpc {valid.bpc:6.3f}" if char_level else f"valid ppl {valid.ppl:9.2f}"
        log(f"| eval  epoch {epoch:3d} | step {progress.step:7d} | time {epoch_time():7.1f}s"
            f" | eval {time.perf_counter() - started:5.1f}s | valid loss {valid.loss:6.3f} | "
            f"{figure} |")
        schedule.end_epoch(valid.loss)
        is_best = valid.loss < progress.best_valid
        if is_best:
            progress.best_valid, progress.bad_evals = valid.loss, 0
        else:
            progress.bad_evals += 1
        stop = bool(cfg.patience) and progress.bad_evals >= cfg.patience
        if stop:
            progress.stopped = f"early stop: no better valid loss for {cfg.patience} evaluations"
        if save is not None:
            save(progress, state, is_best)
        return stop

    epoch_start = run_start = time.perf_counter()
    epoch_before = 0.0  # the epoch's seconds before this (re)start, set per epoch below

    def epoch_time() -> float:
        return epoch_before + time.perf_counter() - epoch_start

    model.to(device)
    model.train()
    while progress.epoch <= cfg.epochs and not progress.stopped:
        epoch = progress.epoch
        schedule.start_epoch(epoch)
        epoch_start = time.perf_counter()
        state = _to(carry, device) if progress.batch else None  # fresh state each epoch
        carry = None
        if progress.batch == 0:
            progress.epoch_nll, progress.epoch_tokens, progress.epoch_seconds = 0.0, 0, 0.0
        epoch_before = progress.epoch_seconds  # a mid-epoch resume: the time before it
        meter, window, tokens, last = NLLMeter(), NLLMeter(), 0, time.perf_counter()
        meter.add(progress.epoch_nll, progress.epoch_tokens)  # resumed: the epoch so far
        for i, (x, y) in enumerate(train_data):
            if i < progress.batch:  # resuming mid-epoch: skip windows already trained on
                continue
            x, y = x.to(device), y.to(device)
            # Truncated BPTT: the state flows on from the previous window (each batch row is a
            # contiguous stream), but gradients stop at the window's start. Without detach,
            # backward would run through every earlier window: time and memory grow without
            # bound, and the graph of windows already optimised would be reused.
            state = detach(state)
            with _autocast(device, cfg.amp):
                logits, state = model(x, state)
            nll, count = token_nll(logits, y)
            divisor = x.shape[0] if cfg.loss_reduction == "sequence" else count
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(nll / divisor).backward()
            if cfg.clip > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            scaler.step(optimizer)
            scaler.update()
            progress.batch, progress.step = i + 1, progress.step + 1
            schedule.after_step(progress.step)
            value = nll.item()
            if not math.isfinite(value) and cfg.amp != "fp16":  # fp16: the scaler skips steps
                raise SeqlabError(f"training diverged: loss is {value} at step {progress.step} "
                                  f"(lr {schedule.lr:g}); lower train.lr or set train.clip")
            meter.add(value, count)
            progress.epoch_nll, progress.epoch_tokens = meter.nll_sum, meter.count
            progress.epoch_seconds = epoch_time()
            window.add(value, count)
            tokens += count
            if progress.step % cfg.log_every == 0 or progress.batch == steps_per_epoch:
                now = time.perf_counter()
                figure = f"bpc {window.bpc:6.3f}" if char_level else f"ppl {window.ppl:9.2f}"
                log(f"| epoch {epoch:3d} | {progress.batch:6d}/{steps_per_epoch:6d} batches | "
                    f"lr {schedule.lr:8.5f} | tok/s {tokens / (now - last):8.0f} | "
                    f"loss {window.loss:6.3f} | {figure} |")
                emit({"event": "train", "epoch": epoch, "step": progress.step,
                      "lr": schedule.lr, "loss": window.loss, "ppl": window.ppl,
                      "tok_s": tokens / (now - last)})
                window, tokens, last = NLLMeter(), 0, now
            out_of_steps = bool(cfg.max_steps) and progress.step >= cfg.max_steps
            out_of_time = bool(cfg.time_limit) and time.perf_counter() - run_start > cfg.time_limit
            end_of_epoch = progress.batch == steps_per_epoch
            if cfg.eval_every and progress.step % cfg.eval_every == 0 and not end_of_epoch:
                if evaluate_and_record(epoch, meter, state):
                    return progress
            elif (cfg.checkpoint_every and progress.step % cfg.checkpoint_every == 0
                  and not end_of_epoch and save is not None):
                save(progress, state, False)
            if out_of_steps or out_of_time:
                progress.stopped = (f"reached max_steps={cfg.max_steps}" if out_of_steps else
                                    f"reached time_limit={cfg.time_limit:g}s")
                break
        if progress.batch == steps_per_epoch:
            progress.epoch, progress.batch = epoch + 1, 0
            evaluate_and_record(epoch, meter, None)
        elif progress.stopped.startswith("reached time_limit") and not (
                progress.history and progress.history[-1]["step"] == progress.step):
            evaluate_and_record(epoch, meter, state)  # the figure the time bought
        elif save is not None:  # stopped mid-epoch (max_steps): a resume point, no evaluation
            save(progress, state, False)
    return progress
