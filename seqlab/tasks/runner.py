"""One run of any registered task from a :class:`~seqlab.config.RunConfig`: data, model, fit,
final figures. Used by ``seqlab train <task>``, ``seqlab demo`` and the benchmarks alike.

Output directory (``train.out_dir``), written by rank 0 only::

    last.safetensors   checkpoint at every evaluation and checkpoint_every steps (resume point)
    best.safetensors   the weights with the best validation figure so far (train.ema: averaged)
    metrics.jsonl      one JSON record per log line and evaluation
    curve.png          train/valid figure per evaluation
    config.toml        the run's full config
    result.json        final valid/test figures of the best checkpoint, steps, world size

Under ``torchrun`` every process runs this function: each reads its shard of the batches,
only rank 0 logs and writes, checkpoints hold the whole batch's carried state and every
process's RNG state, so ``--resume`` continues exactly (also with another process count when
the batch still divides).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqlab.config import RunConfig
from seqlab.errors import CheckpointError
from seqlab.io import (
    DEFAULT_POLICY,
    atomic_write_json,
    atomic_write_text,
    check_recorded_files,
    current_policy,
    data_files,
    read_lines,
    record_files,
    resumed_policy,
    text_policy,
)
from seqlab.tasks.registry import get_task
from seqlab.train.averaging import WeightAverage, averaged
from seqlab.train.checkpoint import load_checkpoint, rng_state, save_checkpoint
from seqlab.train.distributed import setup, teardown
from seqlab.train.loop import Progress, evaluate, fit
from seqlab.train.metrics import plot_curve
from seqlab.train.optim import LRSchedule, build_optimizer


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the global RNG users expect `seed` to fix)
    torch.manual_seed(seed)


def _trim_metrics(path: Path, step: int) -> None:
    """On resume, drop records logged after the checkpoint (they will be logged again)."""
    if not path.exists():
        return
    kept = [line for line in read_lines(path, "utf-8", "strict")
            if line and json.loads(line).get("step", 0) <= step]
    atomic_write_text(path, "".join(line + "\n" for line in kept))


def _write_json(path: Path, value: Any) -> None:
    atomic_write_json(path, value, indent=1)


def train(cfg: RunConfig, *, resume: bool = False, dry_run: bool = False,
          overwrite: bool = False, log: Callable[[str], None] = print,
          data: Any = None, grad_hook: Callable | None = None) -> dict[str, Any]:
    """Train (or resume) ``cfg.task`` as ``cfg`` says; return the final figures.

    Args:
        cfg: the run config.
        resume: continue from ``<out_dir>/last.safetensors`` exactly where it stopped.
        dry_run: one training batch and one validation batch, into ``<out_dir>/dry-run``.
        overwrite: allow a fresh run to replace a checkpoint already in ``out_dir``.
        log: where progress lines go (rank 0's).
        data: already built task data (default: the task's data builder).
        grad_hook: passed to :func:`~seqlab.train.loop.fit` (e.g. a GradientMonitor).

    Returns:
        ``{"stopped", "steps", "epochs", "seconds", "history", "world_size", "out_dir",
        "<split>_<figure>"...}`` on rank 0; on other ranks only the first four.
    """
    dist, device = setup(cfg.train.device)
    created_group = dist.world > 1
    try:
        if device != cfg.train.device:
            cfg = RunConfig.from_dict({"train": {"device": device}}, base=cfg)
        result = _train(cfg, dist, resume=resume, dry_run=dry_run, overwrite=overwrite,
                        log=log if dist.rank == 0 else (lambda line: None), data=data,
                        grad_hook=grad_hook)
        dist.barrier()  # rank 0 scores the final figures alone; the others wait, then all leave
        return result
    finally:
        if created_group:
            teardown(dist)


def _train(cfg: RunConfig, dist, *, resume: bool, dry_run: bool, overwrite: bool,
           log: Callable[[str], None], data: Any, grad_hook: Callable | None = None
           ) -> dict[str, Any]:
    task = get_task(cfg.task)
    lead = dist.rank == 0
    files = data_files(cfg.data)
    if files:  # recorded absolute, so that `seqlab eval CKPT` finds them from any folder
        cfg = RunConfig.from_dict({"data": {field.split(".", 1)[1]: str(
            Path(path).expanduser().absolute()) for field, path in files.items()}}, base=cfg)
    if cfg.train.threads:
        torch.set_num_threads(cfg.train.threads)
    out = Path(cfg.train.out_dir)
    if dry_run:
        cfg = RunConfig.from_dict({"train": {"max_steps": 1, "epochs": 1}}, base=cfg)
        out = out / "dry-run"
        overwrite = True
    last, best, metrics = out / "last.safetensors", out / "best.safetensors", out / "metrics.jsonl"
    if not resume and last.exists() and not overwrite:
        raise CheckpointError(f"{out} already holds a checkpoint ({last.name}); pass --resume to "
                              "continue it, or choose another --out-dir")
    if resume and not last.exists():
        raise CheckpointError(f"--resume: no checkpoint to continue at {last}")
    seed_everything(cfg.train.seed)
    # the text files are read as the run first read them (--encoding/--errors are saved)
    policy = current_policy()
    if resume:
        saved_assets = load_checkpoint(last).assets
        check_recorded_files(saved_assets.get("data_files"), "start a new run (a resumed run "
                             "goes on with the files it trained on)", log)
        policy = resumed_policy(saved_assets.get("text_policy"))
    with text_policy(*policy):
        if data is None:  # rank 0 prepares (and caches) first; the others then read its cache
            if lead:
                data = task.build_data(cfg)
            dist.barrier()
            if not lead:
                data = task.build_data(cfg)
    run_assets: dict[str, Any] = {}
    if lead and files:
        run_assets["data_files"] = record_files(data_files(cfg.data))
    if policy != DEFAULT_POLICY:
        run_assets["text_policy"] = list(policy)
    train_batches = data.batches("train", "train", dist.rank, dist.world)
    valid_batches = data.batches("valid", "eval", dist.rank, dist.world)
    model = task.model_class().from_config(cfg.model, data.assets)
    optimizer = build_optimizer(model, cfg.train)
    schedule = LRSchedule(optimizer, cfg.train, len(train_batches))
    average = WeightAverage(model, cfg.train.ema) if cfg.train.ema else None
    if dist.rank:  # other processes draw their own dropout masks; rank 0 keeps the seed's
        seed_everything(cfg.train.seed + 1_000_003 * dist.rank)
    progress, carry = Progress(), None
    if resume:
        ckpt = load_checkpoint(last)
        ckpt.check_matches(cfg, data.assets)
        ckpt.load_weights(model)
        ckpt.load_optimizer(optimizer)
        schedule.load_state_dict(ckpt.schedule)
        if average is not None:
            average.load_tensors(ckpt.tensors, str(last))
        progress = Progress.from_dict(ckpt.progress)
        if progress.stopped.startswith("reached "):  # max_steps / time_limit: may go on
            progress.stopped = ""
        carry = dist.shard_state(ckpt.carry(), model.state_batch_dim)
        ckpt.restore_rng(dist.rank)  # last: building the model above consumed random numbers
        if lead:
            _trim_metrics(metrics, progress.step)
        log(f"| resumed {last} at epoch {progress.epoch}, batch {progress.batch}, "
            f"step {progress.step} |")
    elif lead:
        out.mkdir(parents=True, exist_ok=True)
        metrics.write_text("")
        best.unlink(missing_ok=True)  # only reached with overwrite: a stale best must not win
    if lead:
        cfg.save(out / "config.toml")
    dist.barrier()
    n_params = sum(p.numel() for p in model.parameters())
    shape = getattr(cfg.model, "num_layers", ""), getattr(cfg.model, "hidden_size", "")
    world = f" | {dist.world} processes" if dist.world > 1 else ""
    log(f"| {cfg.task} | model {shape[0]}x{shape[1]} {getattr(cfg.model, 'cell', '')} | "
        f"{data.describe()} | params {n_params / 1e6:.2f}M | {len(train_batches)} "
        f"batches/epoch{world} |")
    unit = model.log_metrics[0]

    def save(progress: Progress, state: Any, is_best: bool) -> None:
        state = dist.gather_state(state, model.state_batch_dim)  # collective
        rngs = dist.gather_objects(rng_state()) if dist.world > 1 else None  # collective
        if not lead:
            return
        common = dict(model=model, task=cfg.task, config=cfg.to_dict(),
                      assets={**model.assets(), **run_assets},
                      optimizer=optimizer, schedule=schedule.state_dict(),
                      progress=progress.to_dict(), rng=rngs, world_size=dist.world)
        if is_best:  # with train.ema the best checkpoint holds the averaged weights
            with averaged(average):
                save_checkpoint(best, **common)
        save_checkpoint(last, **common, carry=state,
                        extra=average.tensors() if average is not None else None)
        if progress.history:
            plot_curve(progress.history, out / "curve.png", unit=unit)

    started = time.perf_counter()
    progress = fit(model, train_batches, valid_batches, cfg.train, optimizer=optimizer,
                   schedule=schedule, progress=progress, carry=carry, save=save, log=log,
                   metrics_path=metrics, max_eval_batches=1 if dry_run else None, dist=dist,
                   grad_hook=grad_hook, average=average)
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"stopped": progress.stopped or "finished", "steps": progress.step,
                              "epochs": len({h["epoch"] for h in progress.history}),
                              "seconds": elapsed, "world_size": dist.world}
    if not lead:
        return result
    result["history"] = progress.history
    if best.exists():
        load_checkpoint(best).load_weights(model)
    elif average is not None:  # no evaluation was reached: the average is the model
        average.load_into_model()
    for split in ("valid", "test"):
        if split in getattr(data, "splits", {}):
            ev = evaluate(model, data.batches(split, "final"), cfg.train.device,
                          1 if dry_run else None, cfg.train.amp)
            for name, value in ev.metrics.items():
                result[f"{split}_{name}"] = value
            result[f"{split}_targets"] = ev.count
            formats = {"loss": ".4f", "ppl": ".2f", "bpc": ".3f"}
            def shown_value(name: str, value: float, formats=formats) -> str:  # tiny: 5.3e-05
                return f"{value:{'.3e' if 0 < abs(value) < 1e-3 else formats.get(name, '.4g')}}"
            shown = " | ".join(f"{name} {shown_value(name, ev.metrics[name])}"
                               for name in ("loss", *model.log_metrics) if name in ev.metrics)
            log(f"| final {split:5s} | {shown} | {ev.count:,} targets | (best checkpoint) |")
    result["out_dir"] = str(out)
    _write_json(out / "result.json", result)
    return result
