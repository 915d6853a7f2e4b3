"""Restartable line streams over the splits of a corpus, whatever its source.

:func:`open_source` turns a registry name, a local text file, a directory or a ``{split: path}``
mapping into a :class:`TextSource`. ``source.lines(split)`` yields the split's lines with their
``"\\n"`` kept (the last line may lack it) and can be called again for a second pass, which
:func:`seqlab.data.corpus.prepare` needs (count, then encode) without holding the corpus in memory.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from seqlab.data.sources import (
    DATASETS,
    LOCAL_SPLIT,
    DatasetSpec,
    _check_split,
    dataset_files,
    dataset_path,
    get_spec,
)
from seqlab.errors import ConfigError, DataError, MissingFileError
from seqlab.io import open_text

__all__ = ["TextSource", "load_text", "open_source"]


class TextSource:
    """Splits of one corpus as restartable line streams.

    Attributes:
        name: registry name or the path(s) given.
        splits: split names this source provides.
        tokenizer: default tokenizer name (``"word"`` for local files).
        eos_per_line: the source's line-end convention, or ``None`` for "the tokenizer's default".
    """

    def __init__(self, name: str, splits: tuple[str, ...], tokenizer: str,
                 eos_per_line: bool | None) -> None:
        self.name, self.splits = name, splits
        self.tokenizer, self.eos_per_line = tokenizer, eos_per_line

    def lines(self, split: str) -> Iterator[str]:
        """Lines of ``split``, ``"\\n"`` kept."""
        _check_split(self.name, split, self.splits)
        return self._lines(split)

    def _lines(self, split: str) -> Iterator[str]:
        raise NotImplementedError

    def text(self, split: str) -> str:
        """The whole split as one string; empty or whitespace-only is a ``DataError``."""
        text = "".join(self.lines(split))
        if not text.strip():
            raise DataError(f"{self.name} split {split!r} is empty or whitespace only")
        return text

    def fingerprint(self) -> str:
        """Hash of the inputs' content: equal fingerprints mean identical split texts."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, splits={self.splits})"


class _SplitFiles(TextSource):
    """One file per split (PTB, WikiText, a directory, a ``{split: path}`` mapping)."""

    def __init__(self, name: str, paths: Mapping[str, Any], tokenizer: str,
                 eos_per_line: bool | None, spec: DatasetSpec | None = None) -> None:
        super().__init__(name, tuple(paths), tokenizer, eos_per_line)
        self._paths, self._spec = dict(paths), spec

    def _lines(self, split: str) -> Iterator[str]:
        path = dataset_path(self._spec.name, split) if self._spec else self._paths[split]
        with open_text(path) as handle:
            yield from handle

    def fingerprint(self) -> str:
        if self._spec is not None:  # content is pinned by the registry checksums
            return _hash([self._spec.name, [(f.name, f.sha256, f.git_blob)
                                            for f in self._spec.files]])
        return _hash([(s, _file_sha256(p)) for s, p in self._paths.items()])


class _LocalFile(TextSource):
    """One local text file, split contiguously by lines with :data:`LOCAL_SPLIT` fractions."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path), tuple(LOCAL_SPLIT), "word", None)
        self.path = path
        self._bounds: dict[str, tuple[int, int]] | None = None

    def bounds(self) -> dict[str, tuple[int, int]]:
        """split -> [first line, end line) by :data:`LOCAL_SPLIT` (``int(n * fraction)``)."""
        if self._bounds is None:
            with open_text(self.path) as handle:
                n = sum(1 for _ in handle)
            self._bounds = {s: (int(n * a), int(n * b)) for s, (a, b) in LOCAL_SPLIT.items()}
            self._num_lines = n
        return self._bounds

    def _lines(self, split: str) -> Iterator[str]:
        start, end = self.bounds()[split]
        if start == end:
            raise DataError(
                f"{self.path} has {self._num_lines} line(s): too few to cut a {split!r} split by "
                f"the line fractions {LOCAL_SPLIT}; give a longer file, fewer splits, or a "
                "mapping {split: path}")
        with open_text(self.path) as handle:
            for i, line in enumerate(handle):
                if i >= end:
                    break
                if i >= start:
                    yield line

    def fingerprint(self) -> str:
        return _hash(["local-lines", LOCAL_SPLIT, _file_sha256(self.path)])


class _CharFraction(TextSource):
    """A registry file cut by characters: first ``train_fraction`` train, the rest valid."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec.name, spec.splits, spec.tokenizer, spec.eos_per_line)
        self._spec = spec

    def _lines(self, split: str) -> Iterator[str]:
        with open_text(dataset_path(self._spec.name, split)) as handle:
            text = handle.read()
        cut = int(len(text) * self._spec.train_fraction)
        yield from (text[:cut] if split == "train" else text[cut:]).splitlines(keepends=True)

    def fingerprint(self) -> str:
        return _hash([self._spec.name, self._spec.train_fraction,
                      [f.sha256 for f in self._spec.files]])


class _PoetryItems(TextSource):
    """chinese-poetry JSON: one line per item (paragraphs joined); item i valid if i % 10 == 9."""

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__(spec.name, spec.splits, spec.tokenizer, spec.eos_per_line)
        self._spec = spec

    def _lines(self, split: str) -> Iterator[str]:
        paths = dataset_files(self._spec.name)
        index = 0
        for file in self._spec.files:
            with open_text(paths[file.name]) as handle:
                items = json.load(handle)
            for item in items:
                body = item.get("paragraphs") or item.get("content") or []
                if (index % 10 == 9) == (split == "valid"):
                    yield "".join(body) + "\n"
                index += 1

    def fingerprint(self) -> str:
        return _hash([self._spec.name, "items-mod-10", [f.sha256 for f in self._spec.files]])


def open_source(source: str | os.PathLike | Mapping[str, Any] | TextSource) -> TextSource:
    """A :class:`TextSource` for a registry name, file, directory or ``{split: path}`` mapping.

    A string is a registry name if :data:`~seqlab.data.sources.DATASETS` has it, else a path.
    A directory must hold ``train.txt`` and may hold ``valid.txt``/``test.txt``.
    """
    if isinstance(source, TextSource):
        return source
    if isinstance(source, Mapping):
        paths = {str(s): Path(p) for s, p in source.items()}
        if not paths:
            raise ConfigError("source mapping {split: path} is empty")
        for split, path in paths.items():
            if not path.is_file():
                raise MissingFileError(f"source file for split {split!r} not found: {path}")
        return _SplitFiles(", ".join(f"{s}={p}" for s, p in paths.items()), paths, "word", None)
    if isinstance(source, str) and source in DATASETS:
        spec = get_spec(source)
        if spec.split_files:
            return _SplitFiles(spec.name, spec.split_files, spec.tokenizer, spec.eos_per_line, spec)
        return {"chars": _CharFraction, "items": _PoetryItems}[spec.split_rule](spec)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a dataset name, a path or a mapping, got "
                        f"{type(source).__name__}")
    path = Path(source).expanduser()
    if path.is_file():
        return _LocalFile(path)
    if path.is_dir():
        paths = {s: path / f"{s}.txt" for s in ("train", "valid", "test")
                 if (path / f"{s}.txt").is_file()}
        if "train" not in paths:
            raise DataError(f"directory {path} has no train.txt (expected train.txt, valid.txt, "
                            "test.txt as in pytorch/examples)")
        return _SplitFiles(str(path), paths, "word", None)
    if isinstance(source, str) and os.sep not in source and "." not in source:
        get_spec(source)  # looks like a dataset name: the error lists the valid names
    raise DataError(f"source {str(source)!r} is neither a dataset name "
                    f"({', '.join(sorted(DATASETS))}) nor an existing file or directory")


def load_text(source: str | os.PathLike, split: str = "train") -> str:
    """The whole text of ``split`` of ``source`` (registry name, local file, folder, mapping).

    Raises:
        DataError: unknown or missing dataset, or a split that is empty or whitespace only.
    """
    return open_source(source).text(split)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()
