"""Readers of tagged corpora: CoNLL-2003, CoNLL-U and any column file, as lists of sentences.

Every reader returns :class:`TaggedSentence` ``(words, tags)`` lists, one per sentence.
Sentences are separated by blank lines; ``-DOCSTART-`` lines (document breaks) are skipped;
a ``.gz`` file is decompressed on the fly. A line whose number of columns differs from the
file's first token line raises a :class:`~seqlab.errors.DataError` naming the file and line.

* :func:`read_columns`: whitespace-separated columns, the word in one and the tag in another
  (default: first and last), e.g. a two-column ``word tag`` file.
* :func:`read_conll2003`: ``word POS chunk NER``; the NER and chunk tags are IOB1 as
  distributed and can be converted to BIO or BIOES (:func:`seqlab.text.tags.convert`).
* :func:`read_conllu`: the 10 tab-separated CoNLL-U columns (``ID FORM LEMMA UPOS XPOS FEATS
  HEAD DEPREL DEPS MISC``). As the standard says, the *words* are the lines with an integer
  ``ID``: multiword-token lines (``ID`` a range ``1-2``, the surface token ``can't`` over the
  words ``ca`` ``n't``) and empty nodes (``ID`` a decimal ``1.1``, enhanced graphs only) are not
  words and are skipped; ``#`` lines are comments.
* :func:`load_tagged`: a registry name (``conll2003``, ``ud-english-ewt``) and split, or a
  local file in any of these formats.

    >>> lines = ["# sent_id = 1", "1-2\\tcan't\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\t_",
    ...          "1\\tca\\tcan\\tAUX\\tMD\\t_\\t3\\taux\\t_\\t_",
    ...          "2\\tn't\\tnot\\tPART\\tRB\\t_\\t3\\tadvmod\\t_\\t_",
    ...          "3\\tgo\\tgo\\tVERB\\tVB\\t_\\t0\\troot\\t_\\t_", ""]
    >>> read_conllu(lines)
    [TaggedSentence(words=['ca', "n't", 'go'], tags=['AUX', 'PART', 'VERB'])]
    >>> read_columns(["EU I-ORG", "rejects O", "", "Peter B-PER"])[1]
    TaggedSentence(words=['Peter'], tags=['B-PER'])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from seqlab.errors import ConfigError, DataError, MissingFileError

__all__ = ["TaggedSentence", "read_columns", "read_conll2003", "read_conllu", "load_tagged",
           "CONLL2003_COLUMNS", "CONLLU_COLUMNS"]

CONLL2003_COLUMNS = {"pos": 1, "chunk": 2, "ner": 3}
CONLLU_COLUMNS = {"upos": 3, "xpos": 4}
Source = str | os.PathLike | Iterable[str]


class TaggedSentence(NamedTuple):
    words: list[str]
    tags: list[str]


def _lines(source: Source) -> tuple[str, Iterator[str]]:
    """(name for messages, line iterator without line ends)."""
    if isinstance(source, str | os.PathLike):
        from seqlab.io import open_text

        path = Path(source)
        if not path.is_file():
            raise MissingFileError(f"tagged file {str(path)!r} not found")

        def gen():
            with open_text(path) as handle:
                for line in handle:
                    yield line.rstrip("\r\n")

        return str(path), gen()
    return "<lines>", (line.rstrip("\r\n") for line in source)


def _sentences(name: str, rows: Iterator[tuple[int, list[str] | None]], word: int, tag: int,
               width: int | None) -> list[TaggedSentence]:
    out: list[TaggedSentence] = []
    words: list[str] = []
    tags: list[str] = []
    for number, fields in rows:
        if fields is None:  # sentence boundary
            if words:
                out.append(TaggedSentence(words, tags))
                words, tags = [], []
            continue
        if width is None:
            width = len(fields)
            if max(word, tag) >= width or min(word, tag) < -width:
                raise DataError(f"{name}, line {number}: {width} columns, but the word column "
                                f"{word} and tag column {tag} were asked for")
        if len(fields) != width:
            raise DataError(f"{name}, line {number}: {len(fields)} columns, expected {width} "
                            "(ragged columns)")
        words.append(fields[word])
        tags.append(fields[tag])
    if words:
        out.append(TaggedSentence(words, tags))
    if not out:
        raise DataError(f"{name}: no sentences found")
    return out


def read_columns(source: Source, tag_column: int = -1, word_column: int = 0) -> list[
        TaggedSentence]:
    """Sentences of a whitespace-separated column file (word and tag columns by index)."""
    name, lines = _lines(source)

    def rows():
        for number, line in enumerate(lines, 1):
            fields = line.split()
            if not fields or fields[0] == "-DOCSTART-":
                yield number, None
            else:
                yield number, fields

    return _sentences(name, rows(), word_column, tag_column, None)


def read_conll2003(source: Source, column: str = "ner", scheme: str = "IOB1") -> list[
        TaggedSentence]:
    """CoNLL-2003 ``word POS chunk NER`` sentences with the ``column`` tags.

    ``scheme``: ``"IOB1"`` keeps the NER/chunk tags as distributed; ``"BIO"`` or ``"BIOES"``
    converts them (only for ``ner`` and ``chunk``).
    """
    if column not in CONLL2003_COLUMNS:
        raise ConfigError(f"column must be one of {sorted(CONLL2003_COLUMNS)}, got {column!r}")
    sentences = read_columns(source, tag_column=CONLL2003_COLUMNS[column])
    if scheme == "IOB1":
        return sentences
    if column == "pos":
        raise ConfigError("scheme conversion applies to the 'ner' and 'chunk' columns, not 'pos'")
    from seqlab.text.tags import convert

    return [TaggedSentence(s.words, convert(s.tags, "IOB1", scheme)) for s in sentences]


def read_conllu(source: Source, column: str = "upos") -> list[TaggedSentence]:
    """CoNLL-U sentences: the integer-ID words with their ``upos`` or ``xpos`` tags."""
    if column not in CONLLU_COLUMNS:
        raise ConfigError(f"column must be one of {sorted(CONLLU_COLUMNS)}, got {column!r}")
    name, lines = _lines(source)

    def rows():
        for number, line in enumerate(lines, 1):
            if not line.strip():
                yield number, None
                continue
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                raise DataError(f"{name}, line {number}: {len(fields)} tab-separated columns, "
                                "CoNLL-U has 10")
            ident = fields[0]
            if "-" in ident or "." in ident:  # multiword token range / empty node
                continue
            if not ident.isdigit():
                raise DataError(f"{name}, line {number}: ID {ident!r} is not an integer, a "
                                "range n-m nor a decimal n.k")
            yield number, fields

    return _sentences(name, rows(), 1, CONLLU_COLUMNS[column], 10)


def load_tagged(source: str | os.PathLike, split: str = "train", *, column: str | None = None,
                scheme: str | None = None) -> list[TaggedSentence]:
    """Sentences of ``split`` of a registry dataset, or of a local file.

    ``conll2003``: ``column`` ner (default), chunk or pos; ``scheme`` IOB1 (default), BIO or
    BIOES. ``ud-english-ewt``: ``column`` upos (default) or xpos. A local file ending in
    ``.conllu`` (or ``.conllu.gz``) is read as CoNLL-U, any other as a column file (word
    first, tag last; ``scheme`` converts its IOB1/BIO/BIOES tags, given as ``"SRC->DST"``).
    """
    from seqlab.data.sources import DATASETS, dataset_path

    if isinstance(source, str) and source in DATASETS:
        if source not in ("conll2003", "ud-english-ewt"):
            raise DataError(f"dataset {source!r} is not a tagged corpus; tagged registry "
                            "datasets: conll2003, ud-english-ewt")
        path = dataset_path(source, split)
        if source == "conll2003":
            return read_conll2003(path, column or "ner", scheme or "IOB1")
        if source == "ud-english-ewt":
            if scheme is not None:
                raise ConfigError("ud-english-ewt has POS tags: no tag scheme to convert")
        return read_conllu(path, column or "upos")
    path = Path(source)
    if path.name.endswith((".conllu", ".conllu.gz")):
        return read_conllu(path, column or "upos")
    sentences = read_columns(path)
    if scheme is None:
        return sentences
    src, sep, dst = scheme.partition("->")
    if not sep:
        raise ConfigError(f"scheme for a column file must read 'SRC->DST' (e.g. 'IOB1->BIO'), "
                          f"got {scheme!r}")
    from seqlab.text.tags import convert

    return [TaggedSentence(s.words, convert(s.tags, src, dst)) for s in sentences]
