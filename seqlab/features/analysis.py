"""From a raw document to its features: decoding, preprocessing, tokenizing, n-grams.

The steps, in scikit-learn's order and with its parameter names (``VectorizerMixin`` holds
them for ``CountVectorizer``, ``TfidfVectorizer`` and ``HashingVectorizer``)::

    decode:      content (str or bytes) | file object (read) | file name (opened, read)
                 -> str, bytes decoded with ``encoding`` and ``decode_error``
    preprocess:  lowercase, then strip accents ("ascii", "unicode" or a callable);
                 or the user's ``preprocessor`` instead of both
    tokenize:    ``token_pattern`` (findall) or ``tokenizer``      (analyzer="word")
    features:    word n-grams after stop-word removal, or char / char_wb n-grams

A callable ``analyzer`` replaces everything after ``decode``. Every ``build_*`` result is a
``functools.partial`` of module-level functions, so it pickles.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

from seqlab.errors import ConfigError, DataError, MissingFileError
from seqlab.features.stop_words import resolve_stop_words
from seqlab.features.tokenizers import TOKEN_PATTERN, resolve_tokenizer

_WHITESPACES = re.compile(r"\s\s+")
_WORD_RUNS = re.compile(r"\w\w+")  # finds what TOKEN_PATTERN finds


def strip_accents_unicode(text: str) -> str:
    """NFKD-decompose and drop combining marks (keeps non-Latin letters): é -> e, ß stays."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def strip_accents_ascii(text: str) -> str:
    """NFKD-decompose and keep only ASCII characters: é -> e, ß and 猫 are dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


ACCENT_STRIPPERS = {"ascii": strip_accents_ascii, "unicode": strip_accents_unicode}


def word_ngrams(tokens: list[str], min_n: int, max_n: int) -> list[str]:
    """All n-grams (min_n <= n <= max_n) of ``tokens``, each joined by one space."""
    if max_n == 1:
        return tokens
    grams = list(tokens) if min_n == 1 else []
    join = " ".join
    for n in range(max(min_n, 2), min(max_n, len(tokens)) + 1):
        grams.extend(map(join, zip(*[tokens[i:] for i in range(n)])))
    return grams


def char_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams of ``text`` after collapsing runs of blanks to one space."""
    text = _WHITESPACES.sub(" ", text)
    return [text[i:i + n] for n in range(min_n, min(max_n, len(text)) + 1)
            for i in range(len(text) - n + 1)]


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character n-grams inside word boundaries: each word padded with one space each side.

    A padded word shorter than n gives itself once (and no longer n-grams), as in scikit-learn.
    """
    grams: list[str] = []
    for word in text.split():
        w = f" {word} "
        for n in range(min_n, max_n + 1):
            if len(w) <= n:
                grams.append(w)
                break
            grams.extend(w[i:i + n] for i in range(len(w) - n + 1))
    return grams


def _preprocess(doc: str, accents: Callable[[str], str] | None, lower: bool) -> str:
    if lower:
        doc = doc.lower()
    return accents(doc) if accents is not None else doc


def _decode(doc: Any, input: str, encoding: str, decode_error: str) -> Any:
    if input == "filename":
        try:
            with open(doc, "rb") as f:
                doc = f.read()
        except FileNotFoundError:
            raise MissingFileError(f"input='filename': no such file {doc!r}") from None
    elif input == "file":
        doc = doc.read()
    if isinstance(doc, bytes):
        doc = doc.decode(encoding, decode_error)
    if isinstance(doc, float) and doc != doc:
        raise DataError("np.nan is an invalid document, expected bytes or a str")
    return doc


def _analyze_word(doc: Any, decode, preprocess, tokenize, stop, min_n: int, max_n: int):
    tokens = tokenize(preprocess(decode(doc)))
    if stop is not None:
        tokens = [t for t in tokens if t not in stop]
    return word_ngrams(tokens, min_n, max_n)


def _analyze_chars(doc: Any, decode, preprocess, grams, min_n: int, max_n: int):
    return grams(preprocess(decode(doc)), min_n, max_n)


def _analyze_callable(doc: Any, decode, analyzer):
    return analyzer(decode(doc))


class VectorizerMixin:
    """Text handling shared by the vectorizers (parameters are the estimator's attributes)."""

    def decode(self, doc: Any) -> Any:
        """The document as a str: read from a file object or file name (``input``), bytes
        decoded with ``encoding``/``decode_error``; an undecodable byte with "strict" raises
        ``UnicodeDecodeError``."""
        return _decode(doc, self.input, self.encoding, self.decode_error)

    def _decoder(self) -> Callable[[Any], Any]:
        return partial(_decode, input=self.input, encoding=self.encoding,
                       decode_error=self.decode_error)

    def build_preprocessor(self) -> Callable[[str], str]:
        """The function applied to a decoded document before tokenizing."""
        if self.preprocessor is not None:
            return self.preprocessor
        accents = self.strip_accents
        if not accents:
            accents = None
        elif not callable(accents):
            if accents not in ACCENT_STRIPPERS:
                raise ConfigError(f"strip_accents must be None, a callable or one of "
                                  f"{sorted(ACCENT_STRIPPERS)}, got {accents!r}")
            accents = ACCENT_STRIPPERS[accents]
        return partial(_preprocess, accents=accents, lower=self.lowercase)

    def build_tokenizer(self) -> Callable[[str], list[str]]:
        """The function str -> tokens: ``tokenizer`` if given, else ``token_pattern``'s findall
        (its one group if it has one)."""
        if self.tokenizer is not None:
            return resolve_tokenizer(self.tokenizer)
        pattern = re.compile(self.token_pattern)
        if pattern.groups > 1:
            raise ConfigError("token_pattern must have at most one capturing group, "
                              f"got {self.token_pattern!r}")
        return pattern.findall

    def get_stop_words(self) -> frozenset[str] | None:
        """The stop words used: None, seqlab's English list for "english", or a frozenset."""
        return resolve_stop_words(self.stop_words)

    def _check_stop_words_consistency(self, stop, preprocess, tokenize) -> None:
        """Warn (once per ``stop_words`` object) when preprocessing and tokenizing a stop word
        gives tokens that are not stop words, so they would stay in the documents."""
        if stop is None or id(self.stop_words) == getattr(self, "_stop_words_id", None):
            return
        try:
            inconsistent = {t for w in stop for t in tokenize(preprocess(w)) if t not in stop}
        except Exception:  # a custom preprocessor or tokenizer that rejects single words
            inconsistent = set()
        self._stop_words_id = id(self.stop_words)
        if inconsistent:
            warnings.warn("Your stop_words may be inconsistent with your preprocessing. "
                          f"Tokenizing the stop words generated tokens {sorted(inconsistent)!r} "
                          "not in stop_words.", UserWarning, stacklevel=4)

    def build_analyzer(self) -> Callable[[Any], list[str]]:
        """The function document -> list of features that ``fit`` and ``transform`` use."""
        decode = self._decoder()
        if callable(self.analyzer):
            return partial(_analyze_callable, decode=decode, analyzer=self.analyzer)
        min_n, max_n = self.ngram_range
        preprocess = self.build_preprocessor()
        if self.analyzer in ("char", "char_wb"):
            grams = char_ngrams if self.analyzer == "char" else char_wb_ngrams
            return partial(_analyze_chars, decode=decode, preprocess=preprocess, grams=grams,
                           min_n=min_n, max_n=max_n)
        if self.analyzer != "word":
            raise ConfigError(f"analyzer must be 'word', 'char', 'char_wb' or a callable, "
                              f"got {self.analyzer!r}")
        tokenize = self.build_tokenizer()
        stop = self.get_stop_words()
        self._check_stop_words_consistency(stop, preprocess, tokenize)
        if self.tokenizer is None and self.token_pattern == TOKEN_PATTERN:
            # The same tokens, found faster: a greedy run of 2+ word characters always starts
            # and ends at a word boundary, so the \b tests change nothing.
            tokenize = _WORD_RUNS.findall
        return partial(_analyze_word, decode=decode, preprocess=preprocess, tokenize=tokenize,
                       stop=stop, min_n=min_n, max_n=max_n)

    def _warn_for_unused_params(self) -> None:
        """scikit-learn's warnings (UserWarning) for parameters that the analyzer ignores.

        seqlab's named tokenizers ("whitespace", "jieba", ...) do not warn about
        ``token_pattern``; a callable tokenizer does, as in scikit-learn.
        """
        def warn(text: str) -> None:
            warnings.warn(text, UserWarning, stacklevel=4)

        if callable(self.tokenizer) and self.token_pattern is not None:
            warn("The parameter 'token_pattern' will not be used since 'tokenizer' is not None")
        if self.preprocessor is not None and callable(self.analyzer):
            warn("The parameter 'preprocessor' will not be used since 'analyzer' is callable")
        if tuple(self.ngram_range) != (1, 1) and callable(self.analyzer):
            warn("The parameter 'ngram_range' will not be used since 'analyzer' is callable")
        if callable(self.analyzer) or self.analyzer != "word":
            if self.stop_words is not None:
                warn("The parameter 'stop_words' will not be used since 'analyzer' != 'word'")
            if self.token_pattern is not None and self.token_pattern != TOKEN_PATTERN:
                warn("The parameter 'token_pattern' will not be used since "
                     "'analyzer' != 'word'")
            if self.tokenizer is not None:
                warn("The parameter 'tokenizer' will not be used since 'analyzer' != 'word'")

    @staticmethod
    def _documents(documents: Any) -> Any:
        if isinstance(documents, str | bytes):
            raise DataError("documents must be an iterable of documents, got one str; "
                            "wrap it in a list")
        return documents
