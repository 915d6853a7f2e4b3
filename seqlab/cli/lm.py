"""Language-model commands: ``seqlab prepare | generate | score`` (training and evaluation of
every task, the LM included, are in :mod:`seqlab.cli.train`).

Examples::

    seqlab prepare --dataset ptb
    seqlab generate runs/ptb-small/best.safetensors --prompt "the company" --strategy sample \\
        --temperature 0.8 --top-p 0.9 --seed 1
    seqlab score runs/ptb-small/best.safetensors "the cat sat on the mat"

Every command takes ``--dry-run`` (one token / one sentence) so CI can run each end to end in
seconds.
"""

from __future__ import annotations

import argparse
import json
import sys

from seqlab.cli.common import add_text_arguments, flag_hints


# ------------------------------------------------------------------------------------ prepare
def add_prepare_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", default=None, help="registry name (ptb, ptb-char, "
                        "wikitext-2, tinyshakespeare, chinese-poetry)")
    source.add_argument("--data", metavar="FILE", help="any text file (split 90/5/5 by lines)")
    parser.add_argument("--tokenizer", default=None, help="word, char, whitespace, jieba, bpe "
                        "(default: the dataset's own)")
    parser.add_argument("--min-freq", type=int, default=1,
                        help="tokens seen fewer times in train become <unk>")
    parser.add_argument("--max-size", type=int, default=0, help="vocabulary cap (0: none)")
    parser.add_argument("--out-dir", "--out", dest="out", metavar="DIR", default=None,
                        help="output folder (default: a cache folder keyed by the options)")
    parser.add_argument("--dry-run", action="store_true", help="prepare only the valid split")
    add_text_arguments(parser)


def run_prepare(args: argparse.Namespace) -> int:
    from seqlab.data.corpus import prepare
    from seqlab.errors import ConfigError

    source = args.data or args.dataset
    if source is None:
        raise ConfigError("prepare needs --dataset NAME or --data FILE")
    corpus = prepare(source, args.out, tokenizer=args.tokenizer, min_freq=args.min_freq,
                     max_size=args.max_size or None,
                     splits=("valid",) if args.dry_run else None)
    state = "cached" if corpus.cache_hit else "written"
    print(f"{corpus!r} ({state})")
    return 0


def _checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a .safetensors checkpoint (or a run folder: its "
                        "last.safetensors)")
    parser.add_argument("--dry-run", action="store_true", help="one batch / token / sentence")


def _load_lm(path: str, command: str):
    """The checkpoint and its language model; a clear error for another task's checkpoint."""
    from seqlab.tasks import build_model
    from seqlab.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    ckpt.check_task("lm", command)
    return ckpt, build_model(ckpt)


# ----------------------------------------------------------------------------------- generate
GENERATE_TOOLS = {"ngram": ("seqlab.cli.ngram", "add_generate_options",
                            "sample sentences from an n-gram model (alias: seqlab ngram "
                            "generate)")}


def add_generate_arguments(parser: argparse.ArgumentParser,
                           argv: list[str] | None = None) -> None:
    from seqlab.cli.common import add_tool_subcommand, word_after

    if add_tool_subcommand(parser, "generate", GENERATE_TOOLS, word_after(argv, "generate")):
        return
    _checkpoint_argument(parser)
    parser.add_argument("--prompt", default="", help="text to continue (default: a line start)")
    parser.add_argument("--max-new-tokens", "--max-tokens", dest="max_new_tokens", type=int,
                        default=50, help="tokens to generate")
    parser.add_argument("--strategy", choices=["greedy", "sample", "beam"], default="sample",
                        help="how each next token is chosen")
    parser.add_argument("--temperature", type=float, default=1.0,
                        help="sample: > 1 flatter, < 1 sharper distributions")
    parser.add_argument("--top-k", type=int, default=None,
                        help="sample only among the k most likely tokens (default: all)")
    parser.add_argument("--top-p", type=float, default=None,
                        help="sample only within the nucleus of probability p (default: all)")
    parser.add_argument("--beam-size", type=int, default=4, help="beam: hypotheses kept")
    parser.add_argument("--length-penalty", type=float, default=1.0,
                        help="beam: score = log p / length ** penalty")
    parser.add_argument("--num-samples", "-n", dest="num_samples", type=int, default=1,
                        help="texts to generate (sample i uses seed + i)")
    parser.add_argument("--seed", type=int, default=None, help="same seed, same text")
    parser.add_argument("--allow-special", action="store_true",
                        help="let <pad>, <unk>, <bos> be generated (by default only <eos>, "
                             "the line end, of the special tokens is)")


def special_ids(vocab) -> list[int]:
    """Ids of the special tokens that are not text: every special but ``<eos>`` (a line end)."""
    return [i for i in range(len(vocab.specials)) if i != vocab.eos_id]


def _vocab_and_tokenizer(ckpt):
    from seqlab.text.tokenize import Tokenizer
    from seqlab.text.vocab import Vocab

    return Vocab.from_dict(ckpt.vocab), Tokenizer.from_dict(ckpt.tokenizer)


# the decoding functions' keywords in their messages -> this command's flags
GENERATE_HINTS = {f"{name} must": f"--{name.replace('_', '-')} must" for name in (
    "temperature", "top_k", "top_p", "max_new_tokens", "beam_size", "length_penalty")}


def run_generate(args: argparse.Namespace) -> int:
    from seqlab.errors import SeqlabError

    try:
        return _generate(args)
    except SeqlabError as exc:
        raise flag_hints(exc, GENERATE_HINTS) from None


def _generate(args: argparse.Namespace) -> int:
    from seqlab.generate import decoding

    ckpt, model = _load_lm(args.checkpoint, "generate")
    vocab, tokenizer = _vocab_and_tokenizer(ckpt)
    start = [vocab.eos_id]  # training streams put <eos> (or "\n") before every line
    if tokenizer.keeps_newlines:
        start = [vocab.token_to_id("\n")] if "\n" in vocab else [vocab.bos_id]
    prompt = start + decoding.encode_prompt(args.prompt, vocab, tokenizer)
    steps = 1 if args.dry_run else args.max_new_tokens
    suppress = None if args.allow_special else special_ids(vocab)
    for i in range(args.num_samples):
        seed = None if args.seed is None else args.seed + i
        if args.strategy == "greedy":
            new = decoding.greedy(model, prompt, steps, suppress=suppress)
        elif args.strategy == "sample":
            new = decoding.sample(model, prompt, steps, temperature=args.temperature,
                                  top_k=args.top_k, top_p=args.top_p, seed=seed,
                                  suppress=suppress)
        else:
            new = decoding.beam_search(model, prompt, steps, beam_size=args.beam_size,
                                       length_penalty=args.length_penalty,
                                       suppress=suppress)[0].tokens
        tokens = vocab.decode(prompt[1:] + new)
        if not tokenizer.keeps_newlines:
            tokens = ["\n" if t == "<eos>" else t for t in tokens]
        print(tokenizer.detokenize(tokens).replace(" \n ", "\n"))
    return 0


# -------------------------------------------------------------------------------------- score
def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    _checkpoint_argument(parser)
    parser.add_argument("sentences", nargs="*", help="sentences to score (default: stdin lines)")
    parser.add_argument("--file", default=None, help="score each line of this file")
    add_text_arguments(parser)


def run_score(args: argparse.Namespace) -> int:
    from seqlab.errors import DataError
    from seqlab.generate import decoding
    from seqlab.io import decode_bytes, read_lines

    ckpt, model = _load_lm(args.checkpoint, "score")
    vocab, tokenizer = _vocab_and_tokenizer(ckpt)
    if args.file:
        sentences = [line for line in read_lines(args.file) if line.strip()]
    else:
        sentences = args.sentences or [
            line for line in decode_bytes(sys.stdin.buffer.read(), "<stdin>").splitlines()
            if line.strip()]
    if not sentences:
        raise DataError("score needs sentences: as arguments, --file FILE or on stdin")
    line_end = vocab.token_to_id("\n") if tokenizer.keeps_newlines else vocab.eos_id
    for sentence in sentences[:1] if args.dry_run else sentences:
        ids = decoding.encode_prompt(sentence, vocab, tokenizer, "sentence") + [line_end]
        result = decoding.score(model, ids, context=[line_end])
        tokens = vocab.decode(ids)
        print(json.dumps({"sentence": sentence, "log_prob": result.log_prob,
                          "ppl": result.perplexity,
                          "surprisal_bits": [[t, round(s, 4)] for t, s in
                                             zip(tokens, result.surprisal)]},
                         ensure_ascii=False))
    return 0
