"""Text normalization: small pure functions, each ``str -> str``.

They change characters, never split text. Tokenizers apply them to tokens after splitting (not
to the whole text before), so a token's offsets still point into the original string.
"""

from __future__ import annotations

import unicodedata

from seqlab.errors import ConfigError

__all__ = ["nfkc", "lowercase", "strip_accents", "normalize"]


def nfkc(text: str) -> str:
    """Unicode NFKC: full-width forms, ligatures and compatibility characters folded."""
    return unicodedata.normalize("NFKC", text)


def lowercase(text: str) -> str:
    """Lower case with :meth:`str.lower` (locale independent)."""
    return text.lower()


def strip_accents(text: str) -> str:
    """Remove combining marks after NFD decomposition (``"café" -> "cafe"``)."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize(text: str, *, form: str | None = None, lower: bool = False,
              accents: bool = True) -> str:
    """Apply the chosen steps in a fixed order: Unicode ``form``, then accents, then case.

    Args:
        text: input string.
        form: ``"NFC"``, ``"NFKC"``, ``"NFD"``, ``"NFKD"`` or ``None`` (leave as is).
        lower: lower-case the result.
        accents: keep accents (``True``) or strip them (``False``).
    """
    if form is not None:
        if form not in ("NFC", "NFKC", "NFD", "NFKD"):
            raise ConfigError(f"form must be one of NFC, NFKC, NFD, NFKD or None, got {form!r}")
        text = unicodedata.normalize(form, text)
    if not accents:
        text = strip_accents(text)
    if lower:
        text = lowercase(text)
    return text
