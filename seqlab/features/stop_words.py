"""A built-in English stop-word list: ``stop_words="english"`` in the vectorizers and BM25.

Compiled for seqlab from English function words, by class (below); not taken from another
project's list, and not equal to scikit-learn's ``ENGLISH_STOP_WORDS`` (docs: sizes and the
overlap). Content words that merely are frequent ("said", "year", "people", "new") are left
out on purpose: they carry topic. Besides whole words it holds the pieces that tokenizers
make of contractions: the default regex tokenizer (words of 2+ word characters) splits
"don't" into "don", and "we'll" into "we" and "ll"; Penn Treebank tokenization writes "n't",
"'s", "'re". All entries are lowercase: with ``lowercase=False`` a capitalized "The" stays.
"""

from __future__ import annotations

from collections.abc import Iterable

_CLASSES = {
    "articles and determiners": """
        a an the this that these those each every either neither some any no all both
        another other others such what whatever which whichever whose
        """,
    "personal, possessive and reflexive pronouns": """
        i me my mine myself we us our ours ourselves you your yours yourself yourselves
        he him his himself she her hers herself it its itself they them their theirs
        themselves one oneself
        """,
    "indefinite and interrogative pronouns": """
        who whom whoever someone somebody something anyone anybody anything everyone
        everybody everything nobody nothing none
        """,
    "prepositions": """
        about above across after against along amid among amongst around as at before
        behind below beneath beside besides between beyond by despite down during except
        for from in inside into near of off on onto out outside over per since
        than through throughout till to toward towards under underneath unlike until unto
        up upon via with within without
        """,
    "conjunctions": """
        and but or nor so yet if unless because although though whereas while whether
        whilst lest once
        """,
    "be, have, do and modal verbs": """
        am is are was were be been being have has had having do does did doing done
        can could may might must shall should will would ought
        """,
    "adverbs and particles": """
        not very too also just only even still already again ever never always often
        here there where when why how then now thus hence therefore however else
        otherwise rather quite almost perhaps indeed instead meanwhile moreover
        furthermore nevertheless anyway somewhere anywhere everywhere nowhere
        thereby therein thereafter hereby wherein whereby whenever wherever
        """,
    "quantifiers": """
        few fewer many more most much less least several enough own same
        """,
    "contraction pieces (regex tokenizer)": """
        don doesn didn isn aren wasn weren hasn haven hadn wouldn shouldn couldn
        mustn needn mightn shan ll ve re
        """,
    "contraction pieces (Penn Treebank tokenization)": """
        n't 's 're 've 'll 'd 'm
        """,
}

ENGLISH_STOP_WORDS: frozenset[str] = frozenset(
    word for words in _CLASSES.values() for word in words.split())

BUILT_IN = {"english": ENGLISH_STOP_WORDS}


def check_stop_words(value: object) -> str | None:
    """Constraint-table checker for a ``stop_words`` parameter (``seqlab.features.base``): None
    when ``value`` is None, a name in ``BUILT_IN`` or a collection of words, else what is
    expected."""
    expected = "None, " + ", ".join(map(repr, BUILT_IN)) + " or a collection of words"
    if isinstance(value, str):
        return None if value in BUILT_IN else expected
    if value is None or isinstance(value, Iterable):
        return None
    return expected


def resolve_stop_words(stop_words: object) -> frozenset[str] | None:
    """None -> None; "english" -> ``ENGLISH_STOP_WORDS``; a collection -> a frozenset."""
    if stop_words is None:
        return None
    if isinstance(stop_words, str):
        return BUILT_IN[stop_words]  # validated by the estimators' parameter checks
    return frozenset(stop_words)
