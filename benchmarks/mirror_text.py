"""English running text of the data mirror for training word vectors: the training parts only.

Kept out: every development and test split a benchmark scores (CoNLL-2003 testa/testb, EWT
dev/test, SST-2 dev/test, Multi30k val/test, PTB valid/test). WikiText-2's valid and test
text is in (its train part is not in the mirror and no benchmark here scores WikiText-2
with these vectors); say so beside any figure that uses them. Raw text (Multi30k,
tinyshakespeare) is split into words and punctuation; the rest is tokenised already.

    >>> sorted(SOURCES)[:3]
    ['conll2003 eng.train', 'multi30k train.en', 'ptb train']
    >>> lower_zero("Madrid-1999")
    'madrid-0000'
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from seqlab.data.conll import load_tagged
from seqlab.data.sources import dataset_files, dataset_path
from seqlab.io import open_text

_DIGITS = re.compile(r"\d")
_WORDS = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


def _lines(path, split_words: bool = False) -> Iterator[list[str]]:
    with open_text(path) as f:
        for line in f:
            words = _WORDS.findall(line) if split_words else line.split()
            if words:
                yield words


def _sst() -> Iterator[list[str]]:
    with open_text(dataset_path("sst2", "glue-train")) as f:
        next(f)  # header
        for line in f:
            yield line.split("\t")[0].split()


SOURCES: dict[str, Callable[[], Iterator[list[str]]]] = {
    "ptb train": lambda: _lines(dataset_path("ptb", "train")),
    "wikitext-2 valid+test": lambda: (s for split in ("valid", "test")
                                      for s in _lines(dataset_path("wikitext-2", split))),
    "tinyshakespeare": lambda: _lines(dataset_path("tinyshakespeare"), split_words=True),
    "multi30k train.en": lambda: _lines(dataset_files("multi30k")["train.en"], split_words=True),
    "ud-english-ewt train": lambda: (s.words for s in load_tagged("ud-english-ewt", "train")),
    "conll2003 eng.train": lambda: (s.words for s in load_tagged("conll2003", "train")),
    "sst2 glue train": _sst,
}


def training_text(normalise: Callable[[str], str] | None = None) -> list[list[str]]:
    """Every sentence of :data:`SOURCES`, its words through ``normalise`` (e.g. lowercase)."""
    out = []
    for source in SOURCES.values():
        for sentence in source():
            out.append([normalise(w) for w in sentence] if normalise else list(sentence))
    return out


def lower_zero(word: str) -> str:
    """The taggers' normalisation with ``lowercase`` and ``zero_digits`` on."""
    return _DIGITS.sub("0", word).lower()


def skipgram_vectors(sentences: list[list[str]], path: Path, vector_size: int, min_count: int,
                     threads: int) -> dict:
    """seqlab's skip-gram (window 5, 10 epochs, seed 1) on ``sentences``, saved (atomically)
    as a word2vec text file at ``path``; wall and CPU seconds, tokens and words."""
    from seqlab.embeddings.word2vec import Word2Vec

    cpu, started = time.process_time(), time.perf_counter()
    model = Word2Vec(architecture="skipgram", vector_size=vector_size, window=5,
                     min_count=min_count, epochs=10, workers=threads, seed=1,
                     progress=False).fit(sentences)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.wv.save_word2vec_format(path)
    return {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu,
            "tokens": sum(map(len, sentences)), "words": len(model.wv)}
