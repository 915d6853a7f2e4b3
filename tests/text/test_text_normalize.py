"""normalize: each step against unicodedata's own definitions, on hand-checked strings."""

from __future__ import annotations

import pytest

from seqlab.text.normalize import lowercase, nfkc, normalize, strip_accents


def test_steps():
    assert nfkc("ｆｕｌｌ　ｗｉｄｔｈ ﬁ ①") == "full width fi 1"
    assert strip_accents("café naïve Ångström") == "cafe naive Angstrom"
    assert strip_accents("猫 ß") == "猫 ß"  # nothing to strip
    assert lowercase("ÉCOLE Straße") == "école straße"


def test_normalize_order_and_errors():
    assert normalize("Ｃａｆé", form="NFKC", lower=True, accents=False) == "cafe"
    assert normalize("Café") == "Café"
    with pytest.raises(ValueError, match="form must be one of"):
        normalize("x", form="NFX")
