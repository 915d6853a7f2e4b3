"""``seqlab.TextClassifier``: the classifier tasks behind a scikit-learn estimator's API.

``fit(texts, labels)`` learns the vocabulary and label set from the texts, then trains with
the same engine as ``seqlab train classifier`` / ``seqlab train fasttext``
(:func:`seqlab.train.loop.fit`); ``predict``, ``predict_proba`` (softmax, or a sigmoid per
label for ``multi_label``), ``score`` (accuracy; subset accuracy for multi-label) and
``decision_function`` follow scikit-learn's conventions, ``classes_`` names the columns;
``calibrate(texts, labels)`` fits a softmax temperature on held-out texts (Guo et al. 2017).
Parameters are the constructor's keywords (``get_params`` / ``set_params``, so
``sklearn.base.clone`` and grid searches work); ``save(path)`` writes a checkpoint that
``seqlab classify`` and ``seqlab.load`` read, ``TextClassifier.load(path)`` reads one back.

Example:
    >>> clf = TextClassifier("fasttext", embedding_dim=8, epochs=30, lr=0.5, seed=0)
    >>> texts = ["good fun", "great film", "bad plot", "awful acting"] * 5
    >>> labels = ["pos", "pos", "neg", "neg"] * 5
    >>> clf.fit(texts, labels).predict(["good film", "awful plot"]).tolist()
    ['pos', 'neg']
    >>> clf.score(texts, labels), clf.predict_proba(["good"]).shape
    (1.0, (1, 2))
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from seqlab.errors import ConfigError, DataError, NotFittedError

MODELS = ("recurrent", "fasttext")


class TextClassifier:
    """Text classifier estimator (module docstring).

    Args:
        model: "recurrent" (:class:`~seqlab.models.classifier.RecurrentClassifier`) or
            "fasttext" (:class:`~seqlab.models.fasttext_classifier.FastTextClassifier`).
        cell, embedding_dim, hidden_size, num_layers, bidirectional, dropout, pooling,
            mlp_layers, mlp_hidden: the recurrent model's shape (ignored by fasttext but
            ``embedding_dim`` and ``dropout``).
        ngrams, buckets: the fastText model's word n-grams and hash buckets.
        class_weight: None, "balanced" or {label: weight}.
        embeddings: pretrained vectors for the recurrent model (a KeyedVectors or a file).
        freeze_embeddings: keep them fixed.
        tokenizer, lowercase, min_freq: how texts become tokens.
        multi_label: each label is a list of labels (predictions: a 0/1 matrix).
        epochs, batch_size, optimizer, lr, clip: training (fasttext: sparse SGD).
        validation_fraction: hold out this share of the texts and keep the epoch's weights
            with the best accuracy on it (0: the last epoch's).
        seed, threads, verbose: randomness, torch threads (0: torch's), progress lines.
    """

    def __init__(self, model: str = "recurrent", *, cell: str = "lstm", embedding_dim: int = 100,
                 hidden_size: int = 100, num_layers: int = 1, bidirectional: bool = True,
                 dropout: float = 0.3, pooling: str = "max", mlp_layers: int = 0,
                 mlp_hidden: int = 100, ngrams: int = 2, buckets: int = 200_000,
                 class_weight: Any = None, embeddings: Any = None,
                 freeze_embeddings: bool = False, tokenizer: str = "word",
                 lowercase: bool = True, min_freq: int = 1, multi_label: bool = False,
                 epochs: int = 5, batch_size: int = 32, optimizer: str | None = None,
                 lr: float | None = None, clip: float | None = None,
                 validation_fraction: float = 0.0, seed: int = 0, threads: int = 0,
                 verbose: bool = False) -> None:
        args = dict(locals())
        args.pop("self")
        for name, value in args.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ scikit-learn API
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> TextClassifier:
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ConfigError(f"invalid parameter {name!r} for TextClassifier; valid: "
                                  f"{valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not _same(v, defaults[k])]
        return f"TextClassifier({', '.join(changed)})"

    # ------------------------------------------------------------------------- config
    def _run_config(self, assets: dict[str, Any]):
        from seqlab.config import RunConfig
        from seqlab.tasks import get_task

        if self.model not in MODELS:
            raise ConfigError(f"model must be one of {MODELS}, got {self.model!r}")
        fast = self.model == "fasttext"
        task = get_task("fasttext" if fast else "classifier")
        weights = self.class_weight
        if isinstance(weights, dict):
            weights = ",".join(f"{k}:{v}" for k, v in weights.items())
        model: dict[str, Any] = {"embedding_dim": self.embedding_dim, "dropout": self.dropout,
                                 "class_weights": weights or ""}
        if fast:
            model.update(ngrams=self.ngrams, buckets=self.buckets, sparse=True)
        else:
            model.update(cell=self.cell, hidden_size=self.hidden_size,
                         num_layers=self.num_layers, bidirectional=self.bidirectional,
                         pooling=self.pooling, mlp_layers=self.mlp_layers,
                         mlp_hidden=self.mlp_hidden, freeze_embeddings=self.freeze_embeddings,
                         pretrained=self.embeddings if isinstance(self.embeddings, str) else "")
        train = {"optimizer": self.optimizer or ("sgd" if fast else "adam"),
                 "lr": self.lr or (0.5 if fast else 0.002),
                 "clip": (0.0 if fast else 5.0) if self.clip is None else self.clip,
                 "schedule": "cosine" if fast else "constant", "epochs": self.epochs,
                 "seed": self.seed, "threads": self.threads, "loss_reduction": "sequence",
                 "progress_bar": "off", "log_every": 10 ** 9, "out_dir": ""}
        data = {"data": "<in memory>", "batch_size": self.batch_size,
                "multi_label": self.multi_label, "tokenizer": self.tokenizer,
                "lowercase": self.lowercase, "min_freq": self.min_freq}
        return task, RunConfig.from_dict({"model": model, "data": data, "train": train},
                                         base=task.default_config())

    # -------------------------------------------------------------------------- fit
    def fit(self, X: Sequence[str], y: Sequence[Any]) -> TextClassifier:
        """Train on texts ``X`` and their labels ``y`` (lists of labels when multi_label)."""
        from seqlab.models.classifier_task import (
            Examples,
            TextEncoder,
            build_assets,
            example_batches,
            label_ids,
        )
        from seqlab.tasks.runner import seed_everything
        from seqlab.train.loop import fit
        from seqlab.train.optim import LRSchedule, build_optimizer

        X, y = _texts(X, "X"), list(y)
        if len(X) != len(y):
            raise DataError(f"X has {len(X)} texts and y {len(y)} labels: they must be as many")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in [0, 1), got "
                              f"{self.validation_fraction!r}")
        idx = np.random.default_rng(self.seed).permutation(len(X))
        n_valid = int(round(self.validation_fraction * len(X)))
        valid_idx, train_idx = idx[:n_valid], idx[n_valid:] if n_valid else np.arange(len(X))
        labels = [y[i] for i in train_idx]
        assets = build_assets([X[i] for i in train_idx], labels, tokenizer=self.tokenizer,
                              lowercase=self.lowercase, min_freq=self.min_freq,
                              multi_label=self.multi_label)
        task, cfg = self._run_config(assets)
        if self.threads:
            torch.set_num_threads(self.threads)
        seed_everything(self.seed)
        encoder = TextEncoder(assets)
        multi, n_classes = bool(assets["multi_label"]), len(assets["labels"])

        def examples(rows: np.ndarray) -> Examples:
            where = [f"text {i}" for i in rows]
            return Examples(encoder.encode([X[i] for i in rows], where),
                            label_ids([y[i] for i in rows], assets["labels"], multi, ",", where))

        train_batches = example_batches(examples(train_idx), self.batch_size, n_classes, multi,
                                train=True, seed=self.seed)
        valid_batches = (example_batches(examples(valid_idx), 256, n_classes, multi, train=False)
                         if n_valid else [])
        cls = task.model_class()
        if self.model == "recurrent" and self.embeddings is not None:
            model = cls.from_config(cfg.model, assets, vectors=self.embeddings)
        else:
            model = cls.from_config(cfg.model, assets)
        optimizer = build_optimizer(model, cfg.train)
        schedule = LRSchedule(optimizer, cfg.train, len(train_batches))
        best: dict[str, Any] = {}

        def keep(progress, state, is_best):
            if is_best and n_valid:
                best["weights"] = copy.deepcopy(model.state_dict())

        fit(model, train_batches, valid_batches, cfg.train, optimizer=optimizer,
            schedule=schedule, save=keep, log=print if self.verbose else (lambda line: None))
        if best:
            model.load_state_dict(best["weights"])
        self.model_, self.config_, self.task_ = model.eval(), cfg, task.name
        self.classes_ = np.array(assets["labels"], dtype=object)
        self._encoder = encoder
        return self

    # ------------------------------------------------------------------- prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this TextClassifier is not fitted yet: call fit(texts, "
                                 "labels) first")

    @torch.no_grad()
    def decision_function(self, X: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """(n, C) scores before the softmax / sigmoid."""
        from seqlab.models.classifier_task import collate

        self._check_fitted()
        ids = self._encoder.encode(_texts(X, "X"))
        model, out = self.model_.eval(), []
        order = np.argsort([len(i) for i in ids], kind="stable")  # less padding
        for s in range(0, len(ids), batch_size):
            rows = order[s:s + batch_size]
            b = collate([ids[i] for i in rows], [0] * len(rows), len(self.classes_), False)
            out.append((rows, model(b["tokens"], b["lengths"])[0].double().numpy()))
        scores = np.zeros((len(ids), len(self.classes_)))
        for rows, part in out:
            scores[rows] = part
        return scores

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """(n, C) probabilities; columns in the order of ``classes_``."""
        scores = torch.from_numpy(self.decision_function(X))
        return self.model_.probabilities(scores).numpy()

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Labels (n,), or a (n, C) 0/1 indicator matrix when multi-label."""
        proba = self.predict_proba(X)
        if self.model_.multi_label:
            return (proba > 0.5).astype(np.int64)
        return self.classes_[proba.argmax(axis=1)]

    def score(self, X: Sequence[str], y: Sequence[Any]) -> float:
        """Accuracy (multi-label: the share of texts whose whole label set is right)."""
        pred = self.predict(X)
        y = list(y)
        if len(y) != len(pred):
            raise DataError(f"X has {len(pred)} texts and y {len(y)} labels")
        if self.model_.multi_label:
            index = {c: i for i, c in enumerate(self.classes_)}
            gold = np.zeros_like(pred)
            for i, labels in enumerate(y):
                for label in labels:
                    gold[i, index[label]] = 1
            return float((gold == pred).all(axis=1).mean())
        return float(np.mean([str(a) == str(b) for a, b in zip(pred, y, strict=True)]))

    def calibrate(self, X: Sequence[str], y: Sequence[Any]) -> TextClassifier:
        """Temperature scaling on held-out texts (not the training ones): ``predict_proba``
        becomes softmax(scores / tau) with tau minimising their NLL; ``predict`` is unchanged.
        The fitted ``temperature_`` is saved with the model."""
        from seqlab.models.classifier import calibrate_temperature
        from seqlab.models.classifier_task import Examples, example_batches, label_ids

        self._check_fitted()
        X, y = _texts(X, "X"), list(y)
        if len(X) != len(y):
            raise DataError(f"X has {len(X)} texts and y {len(y)} labels: they must be as many")
        where = [f"text {i}" for i in range(len(X))]
        ex = Examples(self._encoder.encode(X, where),
                      label_ids(y, list(self.classes_), self.model_.multi_label, ",", where))
        self.temperature_ = calibrate_temperature(
            self.model_, example_batches(ex, 256, len(self.classes_), self.model_.multi_label,
                                 train=False))
        return self

    # -------------------------------------------------------------------- files
    def save(self, path) -> Any:
        """A checkpoint of the fitted model (read by ``seqlab classify`` and ``load``)."""
        from seqlab.train.checkpoint import save_checkpoint

        self._check_fitted()
        return save_checkpoint(path, model=self.model_, task=self.task_,
                               config=self.config_.to_dict(), assets=self.model_.assets())

    @classmethod
    def load(cls, path) -> TextClassifier:
        """A fitted estimator from a checkpoint of ``seqlab train classifier|fasttext``."""
        from seqlab.models.classifier import ClassifierHead
        from seqlab.models.classifier_task import TextEncoder
        from seqlab.tasks import config_of
        from seqlab.tasks import load as load_model
        from seqlab.train.checkpoint import load_checkpoint

        ckpt = load_checkpoint(path)
        model = load_model(path)
        if not isinstance(model, ClassifierHead):
            raise DataError(f"{path} is a checkpoint of task {ckpt.task!r}, not a classifier")
        est = cls("fasttext" if ckpt.task == "fasttext" else "recurrent",
                  multi_label=model.multi_label)
        est.model_, est.config_, est.task_ = model, config_of(ckpt.config), ckpt.task
        est.classes_ = np.array(model.labels, dtype=object)
        est._encoder = TextEncoder(model.assets())
        return est


def _texts(X: Any, name: str) -> list[str]:
    if isinstance(X, str):
        raise DataError(f"{name} must be a list of texts, got one str")
    X = list(X)
    bad = next((i for i, t in enumerate(X) if not isinstance(t, str)), None)
    if bad is not None:
        raise DataError(f"{name}[{bad}] must be a str, got {type(X[bad]).__name__}")
    return X


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 (arrays, KeyedVectors: not comparable)
        return a is b
