"""seqlab: sequence models from n-grams to recurrent networks, on the command line.

Each top-level command lives in its own module under ``seqlab.cli`` and exposes
``add_arguments(parser)`` and ``run(args) -> int``; this file only dispatches, and imports a
command's module only when that command runs (so ``seqlab bm25`` never imports PyTorch).

Conventions every command keeps (``seqlab.cli.common`` has the shared pieces): a command is a
verb first, acting on a checkpoint, task or tool (``train lm``, ``eval CKPT``, ``generate``,
``score``, ``train ngram``, ``eval ngram``, ``train embed``, ``index bm25``, ``search bm25``,
``similar``, ``analogy``; the older noun-first ``bm25 index``, ``ngram train``, ``embed
similar`` ... stay as aliases of the same code); ``--out FILE`` / ``--out-dir DIR`` for what
is written
(``-o``/``--output`` aliases), ``--max-new-tokens`` and ``--num-samples`` for generation,
``--dry-run`` everywhere, ``--encoding``/``--errors`` on every command that reads text, and
every user error one line, ``seqlab CMD: error: ...``.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys

# command -> (module, one-line help). One literal table; add a line to add a command.
COMMANDS = {
    "demo": ("seqlab.cli.demo", "train a small character LSTM and sample from it"),
    "prepare": ("seqlab.cli.lm", "tokenize a corpus once into a memory-mapped id file"),
    "train": ("seqlab.cli.train", "train a model of a registered task (`seqlab train --help` "
              "lists them)"),
    "eval": ("seqlab.cli.train", "evaluate a checkpoint of any task on a split or a file"),
    "generate": ("seqlab.cli.lm", "generate text from a checkpoint"),
    "score": ("seqlab.cli.lm", "score sentences with a checkpoint"),
    "tag": ("seqlab.cli.tag", "tag tokenised text with a tagger checkpoint (NER, POS)"),
    "bm25": ("seqlab.cli.bm25", "alias of `seqlab index bm25` and `seqlab search bm25`"),
    "ngram": ("seqlab.cli.ngram", "alias of `seqlab train|eval|generate ngram`"),
    "embed": ("seqlab.cli.embed", "alias of `seqlab train embed`, `seqlab similar`, "
              "`seqlab analogy`, `seqlab eval embed`"),
    "forecast": ("seqlab.cli.forecast", "forecast a CSV series with a trained forecaster"),
    "classify": ("seqlab.cli.classify", "label texts with a trained classifier checkpoint"),
    "translate": ("seqlab.cli.translate", "translate text with a seq2seq checkpoint"),
    "index": ("seqlab.cli.bm25", "build a search index of a text file (`seqlab index bm25`)"),
    "search": ("seqlab.cli.bm25", "query a search index (`seqlab search bm25`)"),
    "similar": ("seqlab.cli.embed", "nearest neighbours of words in a word-vectors file"),
    "analogy": ("seqlab.cli.embed", "a is to b as c is to ? in a word-vectors file"),
    "diagnose": ("seqlab.cli.diagnose", "gradient-flow plots and a JSON summary of recurrent "
                 "models (fresh or a checkpoint)"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    from seqlab import __version__

    parser = argparse.ArgumentParser(prog="seqlab", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"seqlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:  # only the chosen command's module is imported
            mod = importlib.import_module(module)
            add = getattr(mod, f"add_{name}_arguments", None) or mod.add_arguments
            if "argv" in inspect.signature(add).parameters:
                add(p, argv=argv)
            else:
                add(p)
            p.set_defaults(_run=getattr(mod, f"run_{name}", None) or mod.run)
    from seqlab.cli.common import apply_help_style

    apply_help_style(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    args._argv = argv
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    from seqlab.errors import SeqlabError
    from seqlab.io import text_policy

    try:
        with text_policy(getattr(args, "encoding", None), getattr(args, "errors", None),
                         flags=True):
            return int(args._run(args) or 0)
    except SeqlabError as exc:  # expected, user-facing: one clear line, no traceback
        print(f"seqlab {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into `head` and closed: not an error of ours
        sys.stderr.close()
        return 141
    except OSError as exc:  # the machine's refusal (permissions, a full disk): one line too
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"seqlab {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"seqlab {args.command}: interrupted (files are written atomically: none is "
              "half-written; `train ... --resume` continues a run)", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
