"""The task registry: a task name -> its model, config sections, presets and data builder.

``seqlab train <task>``, ``seqlab eval`` and :func:`load` dispatch on this one table. Entries
are ``"module:attribute"`` strings, imported on first use, so listing the tasks imports no
model. A new task adds one line here and one module with its model (keeping the contract of
:mod:`seqlab.models.base`) and its data builder.

Example:
    >>> "lm" in TASKS
    True
    >>> get_task("lm").default_config().train.out_dir
    'runs/lm'
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

from seqlab.config import RunConfig, TrainConfig
from seqlab.errors import CheckpointError, ConfigError, SeqlabError


def _resolve(spec: str) -> Any:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Task:
    """One registered task.

    Attributes:
        name: what ``seqlab train NAME`` takes.
        summary: one line for ``seqlab train --help``.
        model: the model class, ``"module:Class"``; its ``config_class`` is the [model] table.
        data_config: the [data] table's dataclass, ``"module:Class"``.
        data: the data builder, ``"module:function"``: ``build(cfg, assets=None, data=None)``
            returns an object with ``assets``, ``describe()`` and ``batches(split, purpose,
            rank, world)``.
        presets: ``"module:DICT"`` of named config tables, or "".
        eval_batch_field: the [data] field that ``seqlab eval --batch-size`` sets.
    """

    name: str
    summary: str
    model: str
    data_config: str
    data: str
    presets: str = ""
    eval_batch_field: str = "batch_size"

    def model_class(self) -> type:
        return _resolve(self.model)

    def preset_tables(self) -> dict[str, Any]:
        return _resolve(self.presets) if self.presets else {}

    def default_config(self) -> RunConfig:
        model_cfg = self.model_class().config_class()
        return RunConfig(task=self.name, model=model_cfg, data=_resolve(self.data_config)(),
                         train=TrainConfig(out_dir=f"runs/{self.name}"))

    def preset(self, name: str) -> RunConfig:
        presets = self.preset_tables()
        if name not in presets:
            raise ConfigError(f"unknown preset {name!r} for task {self.name!r}; expected one of "
                              f"{sorted(presets)}")
        return RunConfig.from_dict(presets[name], base=self.default_config())

    def build_data(self, cfg: RunConfig, assets: dict | None = None, data: str | None = None):
        return _resolve(self.data)(cfg, assets, data)


# name -> Task. One literal table; each task issue adds its line.
TASKS: dict[str, Task] = {
    "lm": Task("lm", "recurrent language model (word, character, BPE; perplexity / bpc)",
               model="seqlab.models.language_model:LanguageModel",
               data_config="seqlab.models.lm_task:LMDataConfig",
               data="seqlab.models.lm_task:build_data",
               presets="seqlab.models.lm_task:PRESETS",
               eval_batch_field="final_eval_batch_size"),
    "forecaster": Task("forecaster", "RNN forecaster over sliding windows (M4, ETT, CSV; "
                       "sMAPE / MASE / MSE)", model="seqlab.models.forecaster:Forecaster",
                       data_config="seqlab.models.forecaster_task:ForecastDataConfig",
                       data="seqlab.models.forecaster_task:build_data",
                       presets="seqlab.models.forecaster_task:PRESETS",
                       eval_batch_field="eval_batch_size"),
    "tagger": Task("tagger", "sequence tagger: BiLSTM(-CRF) with character features (NER span "
                   "F1, POS accuracy)",
                   model="seqlab.models.tagger:Tagger",
                   data_config="seqlab.models.tagger_task:TaggerDataConfig",
                   data="seqlab.models.tagger_task:build_data",
                   presets="seqlab.models.tagger_task:PRESETS",
                   eval_batch_field="eval_batch_size"),
    "classifier": Task("classifier", "recurrent text classifier (pooling, attention; accuracy, F1)",
                       model="seqlab.models.classifier:RecurrentClassifier",
                       data_config="seqlab.models.classifier_task:ClassifierDataConfig",
                       data="seqlab.models.classifier_task:build_data",
                       presets="seqlab.models.classifier_task:PRESETS",
                       eval_batch_field="eval_batch_size"),
    "fasttext": Task("fasttext", "fastText-style classifier: averaged word + n-gram embeddings",
                     model="seqlab.models.fasttext_classifier:FastTextClassifier",
                     data_config="seqlab.models.classifier_task:ClassifierDataConfig",
                     data="seqlab.models.classifier_task:build_data",
                     presets="seqlab.models.fasttext_classifier:PRESETS",
                     eval_batch_field="eval_batch_size"),
    "seq2seq": Task("seq2seq", "encoder-decoder translation (context vector or attention; BLEU)",
                    model="seqlab.models.seq2seq:Seq2Seq",
                    data_config="seqlab.models.seq2seq_task:Seq2SeqDataConfig",
                    data="seqlab.models.seq2seq_task:build_data",
                    presets="seqlab.models.seq2seq_task:PRESETS",
                    eval_batch_field="eval_batch_size"),
    "longrange": Task("longrange", "long-range tasks: adding problem, copy memory, sevenseg "
                      "(generated; chance printed beside every figure)",
                      model="seqlab.models.longrange:LongRangeModel",
                      data_config="seqlab.models.longrange_task:LongRangeDataConfig",
                      data="seqlab.models.longrange_task:build_data",
                      presets="seqlab.models.longrange_task:PRESETS",
                      eval_batch_field="eval_batch_size"),
}


def get_task(name: str) -> Task:
    """The registered task ``name``; an error listing the registered ones otherwise."""
    if name not in TASKS:
        raise ConfigError(f"unknown task {name!r}; registered tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def default_config(task: str) -> RunConfig:
    """The defaults of every section of ``task``'s run config."""
    return get_task(task).default_config()


def preset(task: str, name: str) -> RunConfig:
    """``task``'s preset ``name`` as a run config."""
    return get_task(task).preset(name)


def config_of(tables: dict[str, Any]) -> RunConfig:
    """A run config from saved tables (``config.toml``, a checkpoint); ``task`` names the task
    (files without it are language-model configs of seqlab 0.1)."""
    task = tables.get("task", "lm")
    return RunConfig.from_dict(tables, base=default_config(task))


def load(path: str | os.PathLike, map_location: str = "cpu", task: str | None = None,
         **overrides: Any):
    """The trained model in a checkpoint, of whatever task, in eval mode.

    Args:
        path: a ``.safetensors`` checkpoint or a run folder (its ``last.safetensors``).
        map_location: device for the weights.
        task: if given, the task the checkpoint must be (a clear error otherwise).
        overrides: model config fields to change, e.g. ``backend="reference"``.
    """
    from seqlab.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, map_location=map_location)
    if task is not None:
        ckpt.check_task(task)
    model = build_model(ckpt, **overrides)
    return model.eval()


def build_model(ckpt: Any, **overrides: Any):
    """The model of a loaded :class:`~seqlab.train.checkpoint.Checkpoint`, weights loaded."""
    try:
        spec = get_task(ckpt.task)
    except ConfigError:
        raise CheckpointError(f"{ckpt.path} is a checkpoint of task {ckpt.task!r}, which this "
                              f"seqlab does not know (registered: {', '.join(sorted(TASKS))})"
                              ) from None
    try:
        cfg = config_of(ckpt.config)
    except ConfigError as exc:
        raise CheckpointError(f"checkpoint {ckpt.path} holds an invalid config: {exc}") from None
    model_cfg = cfg.model
    if overrides:
        model_cfg = type(model_cfg)(**{**model_cfg.__dict__, **overrides})
    try:
        model = spec.model_class().from_config(model_cfg, ckpt.assets)
    except SeqlabError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"checkpoint {ckpt.path} holds assets (vocabularies, label sets) "
                              f"its model cannot use ({type(exc).__name__}: {exc}); was its "
                              "metadata edited?") from None
    ckpt.load_weights(model)
    return model
