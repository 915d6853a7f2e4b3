"""Exceptions. Every message names the culprit: the argument, what was expected, what came."""

from __future__ import annotations


class SeqlabError(Exception):
    """Base class of every error seqlab raises on purpose."""


class ConfigError(SeqlabError, ValueError):
    """An option or configuration value is invalid."""


class DataError(SeqlabError, ValueError):
    """Input data is missing, empty, corrupt or of the wrong shape."""


class NotFittedError(SeqlabError, AttributeError):
    """An estimator was used before ``fit`` (AttributeError too, as in scikit-learn)."""


class CheckpointError(SeqlabError, ValueError):
    """A checkpoint is missing, truncated, corrupt, or does not match the model."""


class MissingFileError(DataError, FileNotFoundError):
    """A file or folder that was named does not exist (also a ``FileNotFoundError``)."""

    def __str__(self) -> str:  # OSError's str() would show "None" fields
        return str(self.args[0]) if self.args else ""


class UnknownKeyError(DataError, KeyError):
    """A word, label or name is not in the vocabulary or table (also a ``KeyError``)."""

    def __str__(self) -> str:  # KeyError's str() quotes the message
        return str(self.args[0]) if self.args else ""
