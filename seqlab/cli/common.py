"""What every command shares: the text-encoding flags and one help style.

``add_text_arguments(parser)`` gives a command ``--encoding`` and ``--errors``;
:func:`seqlab.cli.main.main` applies them to every text read of the command through
:func:`seqlab.io.text_policy`, so a decoding error names these flags.
"""

from __future__ import annotations

import argparse

from seqlab.io import ERRORS


def add_text_arguments(parser: argparse.ArgumentParser) -> None:
    """``--encoding`` and ``--errors`` for a command that reads text files."""
    group = parser.add_argument_group("text files")
    group.add_argument("--encoding", default=None, metavar="NAME",
                       help="encoding of the text files read (default utf-8; e.g. latin-1, "
                            "cp1252, gb18030)")
    group.add_argument("--errors", default=None, choices=ERRORS,
                       help="undecodable bytes: strict stops with an error naming the file and "
                            "the byte offset, replace reads them as U+FFFD (default strict)")


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, plus ``(default: X)`` on options whose help does not give one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS)
                or not action.option_strings or isinstance(action, argparse._VersionAction)):
            return text
        return f"{text} (default: %(default)s)".strip()


def apply_help_style(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and all its subcommands' parsers :class:`HelpFormatter`."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if (action.help is None and action.option_strings
                and action.default not in (None, False, argparse.SUPPRESS)):
            action.help = "(default: %(default)s)"  # an option nobody described: its default
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                apply_help_style(sub)


def word_after(argv: list[str] | None, verb: str) -> str | None:
    """The word right after ``verb`` in ``argv`` (``seqlab eval ngram ...`` -> ``"ngram"``)."""
    argv = argv or []
    if verb not in argv:
        return None
    rest = argv[argv.index(verb) + 1:]
    return rest[0] if rest and not rest[0].startswith("-") else None


def add_tool_subcommand(parser: argparse.ArgumentParser, verb: str, tools: dict[str, tuple],
                        wanted: str | None) -> bool:
    """For ``seqlab VERB TOOL ...`` (the classical tools, verb first): when ``wanted`` is one of
    ``tools`` (name -> (module, options function, one-line help)), give ``parser`` that one
    subcommand, built by the tool's module, and return True; else only name them in the help."""
    import importlib

    lines = [f"seqlab {verb} {name} ...: {spec[2]}" for name, spec in tools.items()]
    names = " or ".join(tools)
    parser.epilog = ("also: " + "; ".join(lines) + f" (a checkpoint folder named {names}: "
                     f"write ./{next(iter(tools))})")
    if wanted not in tools:
        return False
    module, options, help_text = tools[wanted]
    sub = parser.add_subparsers(dest="tool", metavar="TOOL", required=True)
    options_of = getattr(importlib.import_module(module), options)
    options_of(sub.add_parser(wanted, help=help_text, description=f"{verb}: {help_text}"))
    return True


def flag_hints(exc: Exception, hints: dict[str, str]) -> Exception:
    """``exc`` with the library's keyword names in its message replaced by the command's flags
    (same class, so callers still catch it as before)."""
    message = str(exc)
    for keyword, flag in hints.items():
        message = message.replace(keyword, flag)
    if message == str(exc):
        return exc
    new = type(exc)(message)
    new.__cause__ = exc.__cause__
    return new
