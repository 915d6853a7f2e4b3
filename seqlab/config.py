"""Typed run configs: dataclass sections validated early, TOML in and out, CLI flags.

A run is ``RunConfig(task, model, data, train)``: ``train`` is the shared
:class:`TrainConfig`; ``model`` and ``data`` are the registered task's own dataclasses (the
language model's are :class:`seqlab.models.language_model.LanguageModelConfig` and
:class:`seqlab.models.lm_task.LMDataConfig`). Each field is reachable from the command line as
``--section.field`` (``--model.hidden_size 650``) and, when its name is unique across sections,
as ``--field`` with dashes (``--hidden-size 650``). A TOML file (``--config run.toml``) holds
the same tables. Precedence, lowest first: dataclass defaults, ``--preset``, ``--config``, flags.

This module knows no task: the section classes always come from a ``base`` config, which
:func:`seqlab.tasks.default_config` builds for a task name.

Example:
    >>> from seqlab.tasks import default_config, preset
    >>> cfg = preset("lm", "zaremba-small")
    >>> cfg.task, cfg.model.hidden_size, cfg.data.bptt, cfg.train.lr
    ('lm', 200, 35, 1.0)
    >>> RunConfig.from_dict({"train": {"lr": 0.5}}, base=cfg).train.lr
    0.5
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import tomllib

from seqlab.errors import ConfigError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("step", "plateau", "cosine", "constant")
AMP_MODES = ("none", "bf16", "fp16")
# "sequence": summed over time, averaged over the batch (Zaremba's scale, for lr 1);
# "token": averaged over every item the loss sums (the usual scale for Adam).
REDUCTIONS = ("sequence", "token")
METRIC_MODES = ("auto", "min", "max")
PROGRESS_BARS = ("auto", "on", "off")


def check(ok: bool, name: str, expected: str, got: Any) -> None:
    """Raise ``ConfigError("<name> must be <expected>, got <got>")`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{name} must be {expected}, got {got!r}")


@dataclass
class TrainConfig:
    """Optimizer, schedule, stopping, logging and checkpointing: the same for every task."""

    HELP: ClassVar[dict[str, str]] = {
        "optimizer": "optimizer", "lr": "learning rate", "momentum": "SGD momentum",
        "weight_decay": "L2 weight decay (AdamW: decoupled)",
        "schedule": "learning-rate schedule (step: Zaremba's decay per epoch after "
                    "decay_start; plateau: decay when the selection metric stalls; cosine: "
                    "per step to min_lr)",
        "lr_decay": "factor of the step/plateau schedules", "decay_start": "first epoch "
        "of the step schedule whose lr is decayed, minus one", "plateau_patience": "evaluations "
        "without improvement before a plateau decay", "min_lr": "floor of cosine/plateau",
        "epochs": "passes over the training data", "max_steps": "stop after this many "
        "optimizer steps (0: no limit)", "time_limit": "stop after this many seconds (0: none)",
        "clip": "gradient-norm clip (0: none)", "ema": "decay of an exponential moving average "
        "of the weights (e.g. 0.999) that validation, best.safetensors and the final model use "
        "(0: off)", "loss_reduction": "sequence: loss summed over "
        "time, averaged over sequences; token: averaged over every item",
        "patience": "early stop after this many evaluations without improvement (0: never)",
        "metric": "validation figure that picks the best checkpoint and early-stops ('': the "
                  "task's own, e.g. loss for language models)",
        "metric_mode": "min or max for the metric (auto: the task knows, e.g. ppl min, f1 max)",
        "seed": "seed of every random number generator", "device": "cpu, cuda[:N] or mps",
        "amp": "mixed precision on GPU (none, bf16, fp16)",
        "threads": "torch threads per process (0: torch's default)",
        "flush_denormal": "on CPU, flush float32 denormals to zero while training (gradients "
                          "vanishing through long sequences otherwise slow each step ~4x)",
        "log_every": "log a training line every N steps",
        "eval_every": "evaluate every N steps besides each epoch end (0: epoch ends only)",
        "checkpoint_every": "write last.safetensors every N steps (0: at evaluations only)",
        "progress_bar": "live bar in a terminal (auto), always (on) or plain lines (off)",
        "out_dir": "run folder: checkpoints, metrics.jsonl, curve.png, result.json",
    }
    CHOICES: ClassVar[dict[str, tuple]] = {
        "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "loss_reduction": REDUCTIONS,
        "amp": AMP_MODES, "metric_mode": METRIC_MODES, "progress_bar": PROGRESS_BARS}
    # options a resumed run may change: they do not alter what the run learns
    RESUMABLE: ClassVar[tuple[str, ...]] = (
        "epochs", "max_steps", "time_limit", "patience", "device", "threads", "log_every",
        "eval_every", "checkpoint_every", "progress_bar", "out_dir")

    optimizer: str = "sgd"
    lr: float = 1.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "step"
    lr_decay: float = 0.5
    decay_start: int = 4
    plateau_patience: int = 0
    min_lr: float = 0.0
    epochs: int = 13
    max_steps: int = 0
    time_limit: float = 0.0
    clip: float = 5.0
    ema: float = 0.0
    loss_reduction: str = "sequence"
    patience: int = 0
    metric: str = ""
    metric_mode: str = "auto"
    seed: int = 0
    device: str = "cpu"
    amp: str = "none"
    threads: int = 0
    flush_denormal: bool = True
    log_every: int = 100
    eval_every: int = 0
    checkpoint_every: int = 0
    progress_bar: str = "auto"
    out_dir: str = "runs/lm"

    def __post_init__(self) -> None:
        for name, choices in self.CHOICES.items():
            check(getattr(self, name) in choices, f"train.{name}", f"one of {choices}",
                  getattr(self, name))
        check(math.isfinite(self.lr) and self.lr > 0, "train.lr", "a finite float > 0", self.lr)
        check(0 < self.lr_decay <= 1, "train.lr_decay", "in (0, 1]", self.lr_decay)
        check(self.epochs > 0, "train.epochs", "> 0", self.epochs)
        check(self.time_limit >= 0, "train.time_limit", ">= 0 seconds (0 = none)",
              self.time_limit)
        check(self.clip >= 0, "train.clip", ">= 0 (0 = no clipping)", self.clip)
        check(0 <= self.ema < 1, "train.ema", "in [0, 1) (0 = no weight average)", self.ema)
        for name in ("max_steps", "patience", "decay_start", "plateau_patience", "threads",
                     "checkpoint_every", "eval_every"):
            check(getattr(self, name) >= 0, f"train.{name}", ">= 0", getattr(self, name))
        check(self.log_every > 0, "train.log_every", "> 0", self.log_every)
        check(self.device.split(":")[0] in ("cpu", "cuda", "mps"), "train.device",
              "cpu, cuda[:N] or mps", self.device)


@dataclass
class RunConfig:
    """Everything that defines a run of one task; round-trips through TOML and the CLI."""

    task: str
    model: Any
    data: Any
    train: TrainConfig = field(default_factory=TrainConfig)

    def sections(self) -> dict[str, type]:
        return {"model": type(self.model), "data": type(self.data), "train": type(self.train)}

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, **{name: dataclasses.asdict(getattr(self, name))
                                      for name in ("model", "data", "train")}}

    @classmethod
    def from_dict(cls, tables: dict[str, Any], base: RunConfig) -> RunConfig:
        """Overlay ``{"model": {...}, ...}`` on ``base``; unknown keys are errors."""
        if not isinstance(base, RunConfig):
            raise TypeError("RunConfig.from_dict needs base=, a RunConfig of the task "
                            "(seqlab.tasks.default_config(name))")
        merged = base.to_dict()
        sections = base.sections()
        for section, values in tables.items():
            if section == "task":
                if values != base.task:
                    raise ConfigError(f"the config is for task {values!r}, this run is task "
                                      f"{base.task!r}")
                continue
            if section not in sections:
                raise ConfigError(f"unknown config table [{section}]; expected one of "
                                  f"{sorted(sections)}")
            if not isinstance(values, dict):
                raise ConfigError(f"config [{section}] must be a table, got {values!r}")
            known = {f.name: f for f in fields(sections[section])}
            for key, value in values.items():
                if key not in known:
                    raise ConfigError(f"unknown option {section}.{key}; expected one of "
                                      f"{sorted(known)}")
                merged[section][key] = _coerce(f"{section}.{key}", known[key].type, value)
        return cls(task=base.task, **{name: sections[name](**merged[name])
                                      for name in ("model", "data", "train")})

    @classmethod
    def load(cls, path: str | os.PathLike, base: RunConfig) -> RunConfig:
        return cls.from_dict(read_toml(path), base)

    def save(self, path: str | os.PathLike) -> None:
        """Write TOML atomically (a temporary file, then ``os.replace``)."""
        from seqlab.io import atomic_write_text

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, to_toml(self.to_dict()))

    def differences(self, other: RunConfig, ignore: dict[str, tuple[str, ...]]
                    ) -> list[str]:
        """``section.key: self A, other B`` for every value that differs, except ``ignore``."""
        mine, theirs = self.to_dict(), other.to_dict()
        out = []
        for section in ("model", "data", "train"):
            for key, value in theirs[section].items():
                if key in ignore.get(section, ()):
                    continue
                if mine[section].get(key) != value:
                    out.append(f"{section}.{key}: checkpoint {mine[section].get(key)!r}, "
                               f"run {value!r}")
        return out


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    from seqlab.errors import DataError, MissingFileError
    from seqlab.io import read_text

    try:
        return tomllib.loads(read_text(path, "utf-8", "strict"))  # TOML is UTF-8 by definition
    except MissingFileError:
        raise MissingFileError(f"config file not found: {path}") from None
    except DataError as exc:  # undecodable, a folder, unreadable
        raise ConfigError(f"config file {path} is not valid TOML (which is UTF-8 text): "
                          f"{str(exc).split('; pass')[0]}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _coerce(name: str, type_name: Any, value: Any) -> Any:
    kind = _TYPES[type_name if isinstance(type_name, str) else type_name.__name__]
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and kind is not str:
        try:
            return kind(value)
        except ValueError:
            raise ConfigError(f"{name} must be {kind.__name__}, got {value!r}") from None
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ConfigError(f"{name} must be {kind.__name__}, got {value!r}")
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def to_toml(tables: dict[str, Any]) -> str:
    """A small TOML writer for top-level scalars then flat tables of scalars."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in tables.items()
             if not isinstance(value, dict)]
    if lines:
        lines.append("")
    for section, values in tables.items():
        if isinstance(values, dict):
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
            lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ CLI flags
def add_config_arguments(parser: argparse.ArgumentParser, base: RunConfig,
                         presets: dict[str, Any]) -> None:
    """Add ``--preset``, ``--config`` and one flag per field of ``base``'s sections.

    Flags default to unset (None), so :func:`config_overrides` knows what was typed.
    """
    if presets:
        parser.add_argument("--preset", choices=sorted(presets), help="start from a named "
                            "preset: " + ", ".join(sorted(presets)))
    parser.add_argument("--config", metavar="FILE.toml", help="TOML file with [model] [data] "
                        "[train] tables (applied after --preset, before flags)")
    sections = base.sections()
    counts: dict[str, int] = {}
    for cls in sections.values():
        for f in fields(cls):
            counts[f.name] = counts.get(f.name, 0) + 1
    for section, cls in sections.items():
        group = parser.add_argument_group(f"[{section}] options")
        helps = getattr(cls, "HELP", {})
        choices = getattr(cls, "CHOICES", {})
        for f in fields(cls):
            flags = [f"--{section}.{f.name}"]
            if counts[f.name] == 1:
                flags.append("--" + f.name.replace("_", "-"))
            text = helps.get(f.name, "")
            if f.name in choices:
                text += f" {{{', '.join(map(str, choices[f.name]))}}}"
            text += f" (default {getattr(getattr(base, section), f.name)!r})"
            kind = f.type if isinstance(f.type, str) else f.type.__name__
            group.add_argument(*flags, dest=f"cfg:{section}.{f.name}", default=None,
                               metavar=kind.upper() if kind != "bool" else "BOOL",
                               help=text.strip().replace("%", "%%"))


def config_overrides(args: argparse.Namespace, presets: dict[str, Any]) -> list[dict]:
    """The tables the user asked for, lowest precedence first: preset, config file, flags."""
    layers: list[dict] = []
    if getattr(args, "preset", None):
        layers.append(presets[args.preset])
    if getattr(args, "config", None):
        layers.append(read_toml(args.config))
    flags: dict[str, dict[str, Any]] = {}
    for key, value in vars(args).items():
        if key.startswith("cfg:") and value is not None:
            section, name = key[4:].split(".", 1)
            flags.setdefault(section, {})[name] = value
    if flags:
        layers.append(flags)
    return layers


def config_from_args(args: argparse.Namespace, base: RunConfig,
                     presets: dict[str, Any]) -> RunConfig:
    """``base`` with ``--preset``, ``--config`` and the field flags applied, in that order."""
    cfg = base
    for tables in config_overrides(args, presets):
        cfg = RunConfig.from_dict(tables, base=cfg)
    return cfg
