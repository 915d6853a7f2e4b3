"""Multi30k De->En with seqlab's seq2seq: test2016 BLEU, training and translation speed.

Parts (``--parts``, comma-separated):

- ``quality``: train a preset for at most ``--time-limit`` seconds (checkpointed; run again
  with ``--resume`` to continue) or take ``--checkpoint``, then score test2016 with greedy and
  beam-5 search: sacrebleu BLEU and chrF on detokenised output and tokenised lower-case BLEU,
  beside the published figures of bentrevett/pytorch-seq2seq (10 epochs; their BLEU is on
  lower-cased spaCy tokens, so our tokenised lower-case BLEU is the comparable column).
- ``train_speed``: training tokens/s (non-pad target tokens) of seqlab's model of a preset
  against a plain PyTorch encoder-decoder of the same sizes written below (the tutorial
  recipe: nn.GRU bi-encoder, Bahdanau attention, nn.GRU decoder stepped in a Python loop),
  on the same batches, alternating rounds, median; ratio seqlab / plain.
- ``translate_speed``: test2016 sentences/s for greedy and beam 5, batched (64 sentences at
  once) against one sentence at a time, same code, same sentences.

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/seq2seq_multi30k.py \\
        --preset seqlab-best --time-limit 1260 --out-dir runs/s2s-best
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from machine import cpu_model
from torch import nn

from seqlab.config import RunConfig
from seqlab.tasks import build_model, get_task
from seqlab.train.checkpoint import load_checkpoint

# bentrevett/pytorch-seq2seq notebooks 1-3 (README / notebook outputs): test PPL and BLEU
PUBLISHED = {"sutskever-lstm": (43.8, 13.8), "cho-gru": (37.5, 20.6),
             "bahdanau-gru": (25.6, 28.3)}


class PlainBahdanau(nn.Module):
    """The tutorial's encoder-decoder with additive attention, in plain PyTorch."""

    def __init__(self, sv: int, tv: int, emb: int, enc: int, dec: int, dropout: float) -> None:
        super().__init__()
        self.src_emb, self.tgt_emb = nn.Embedding(sv, emb), nn.Embedding(tv, emb)
        self.enc = nn.GRU(emb, enc, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(2 * enc, dec)
        self.attn = nn.Linear(dec + 2 * enc, dec)
        self.v = nn.Linear(dec, 1, bias=False)
        self.dec = nn.GRU(emb + 2 * enc, dec, batch_first=True)
        self.out = nn.Linear(dec + 2 * enc + emb, tv)
        self.drop = nn.Dropout(dropout)

    def forward(self, src, lengths, tgt_in):
        packed = nn.utils.rnn.pack_padded_sequence(self.drop(self.src_emb(src)), lengths,
                                                   batch_first=True, enforce_sorted=False)
        out, h = self.enc(packed)
        keys, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                   total_length=src.shape[1])
        s = torch.tanh(self.fc(torch.cat([h[-2], h[-1]], -1)))  # (B, dec)
        mask = src != 0
        logits = []
        for t in range(tgt_in.shape[1]):
            e = self.drop(self.tgt_emb(tgt_in[:, t]))
            q = s[:, None, :].expand(-1, keys.shape[1], -1)
            score = self.v(torch.tanh(self.attn(torch.cat([q, keys], -1)))).squeeze(-1)
            a = torch.softmax(score.masked_fill(~mask, -1e10), -1)
            c = (a[:, None, :] @ keys).squeeze(1)
            o, hn = self.dec(torch.cat([e, c], -1)[:, None], s[None])
            s = hn[0]
            logits.append(self.out(self.drop(torch.cat([s, c, e], -1))))
        return torch.stack(logits, 1)


def _cfg(preset: str, args) -> RunConfig:
    task = get_task("seq2seq")
    cfg = task.preset(preset)
    over = {"train": {"threads": args.threads, "progress_bar": "off",
                      "out_dir": args.out_dir or f"runs/s2s-{preset}"}}
    if args.time_limit:
        over["train"]["time_limit"] = args.time_limit
    if args.epochs:
        over["train"]["epochs"] = args.epochs
    return RunConfig.from_dict(over, base=cfg)


def quality(args) -> dict:
    from seqlab.models.seq2seq_text import corpus_bleu, corpus_chrf, tokenized_bleu
    from seqlab.models.seq2seq_translate import translate
    from seqlab.tasks import train

    if args.checkpoint:
        ckpt_path, result = Path(args.checkpoint), {}
    else:
        cfg = _cfg(args.preset, args)
        started = time.process_time()
        result = train(cfg, resume=args.resume)
        result["train_cpu_seconds"] = time.process_time() - started
        out = Path(cfg.train.out_dir)
        ckpt_path = out / "best.safetensors" if (out / "best.safetensors").exists() \
            else out / "last.safetensors"
    ckpt = load_checkpoint(ckpt_path)
    model = build_model(ckpt).eval()
    cfg = RunConfig.from_dict(ckpt.config, base=get_task("seq2seq").default_config())
    data = get_task("seq2seq").build_data(cfg, ckpt.assets)
    pairs = data.raw["test2016"][:args.quality_sentences or None]
    src = [s for s, _ in pairs]
    refs = [model.text.normalise_ref(t) for _, t in pairs]
    rows = {}
    for beam in (1, 5):
        hyps = [h[0].text for h in translate(model, src, beam_size=beam, batch_size=64)]
        rows[beam] = (corpus_bleu(hyps, refs), corpus_chrf(hyps, refs),
                      tokenized_bleu(hyps, refs))
    from seqlab.train.loop import evaluate

    ev = evaluate(model, data.batches("test2016", "final"),
                  max_batches=1 if args.quality_sentences else None)
    progress = ckpt.progress or {}
    return {"checkpoint": str(ckpt_path), "rows": rows, "ppl": ev.metrics["ppl"],
            "steps": progress.get("step"),
            # progress counts the epoch being trained: a checkpoint written between epochs
            # (batch 0) holds epoch - 1 completed ones
            "epoch": (progress.get("epoch") or 1) - (0 if progress.get("batch") else 1),
            "train_cpu_seconds": result.get("train_cpu_seconds"),
            "train_wall_seconds": result.get("seconds"), "stopped": result.get("stopped")}


def train_speed(args) -> dict:
    cfg = RunConfig.from_dict({"train": {"seed": 0}}, base=get_task("seq2seq").preset(
        args.speed_preset))
    cfg = RunConfig.from_dict({"model": {"teacher_forcing": 1.0}}, base=cfg)
    data = get_task("seq2seq").build_data(cfg)
    batches = []
    for i, b in enumerate(data.batches("train", "train")):
        if i >= args.speed_batches:
            break
        batches.append(b)
    torch.manual_seed(0)
    ours = get_task("seq2seq").model_class().from_config(cfg.model, data.assets).train()
    m = cfg.model
    plain = PlainBahdanau(len(data.codec.src_vocab), len(data.codec.tgt_vocab), m.embedding_dim,
                          m.encoder_hidden_size or m.hidden_size, m.hidden_size,
                          m.dropout).train()

    def plain_loss(b):
        src, lengths, tgt, _ = b
        logits = plain(src, lengths, tgt[:, :-1])
        gold = tgt[:, 1:].reshape(-1)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), gold, ignore_index=0,
                               reduction="sum"), int((gold != 0).sum())

    def ours_loss(b):
        out = ours.loss(b)
        return out.loss, out.count

    rates = {"seqlab": [], "plain": []}
    opts = {"seqlab": torch.optim.Adam(ours.parameters(), 1e-3),
            "plain": torch.optim.Adam(plain.parameters(), 1e-3)}
    fns = {"seqlab": ours_loss, "plain": plain_loss}
    for rnd in range(args.rounds + 1):
        for name in ("seqlab", "plain"):
            tokens, started = 0, time.perf_counter()
            for b in batches:
                loss, n = fns[name](b)
                opts[name].zero_grad()
                (loss / n).backward()
                opts[name].step()
                tokens += n
            if rnd:  # round 0 warms up
                rates[name].append(tokens / (time.perf_counter() - started))
    params = {"seqlab": sum(p.numel() for p in ours.parameters()),
              "plain": sum(p.numel() for p in plain.parameters())}
    return {"preset": args.speed_preset, "median": {k: statistics.median(v)
                                                    for k, v in rates.items()},
            "params": params, "batch": cfg.data.batch_size, "batches": len(batches)}


def translate_speed(args, ckpt_path: str) -> dict:
    from seqlab.models.seq2seq_translate import translate

    ckpt = load_checkpoint(ckpt_path)
    model = build_model(ckpt).eval()
    cfg = RunConfig.from_dict(ckpt.config, base=get_task("seq2seq").default_config())
    data = get_task("seq2seq").build_data(cfg, ckpt.assets)
    src = [s for s, _ in data.raw["test2016"][:args.speed_sentences]]
    out = {}
    for beam in (1, 5):
        for batch in (64, 1):
            started = time.perf_counter()
            translate(model, src, beam_size=beam, batch_size=batch)
            out[(beam, batch)] = len(src) / (time.perf_counter() - started)
    return {"sentences": len(src), "rates": out}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="quality,train_speed,translate_speed")
    p.add_argument("--preset", default="seqlab-best")
    p.add_argument("--checkpoint", default=None, help="score this instead of training")
    p.add_argument("--out-dir", default=None)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--time-limit", type=float, default=0.0)
    p.add_argument("--epochs", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--speed-preset", default="bahdanau-gru")
    p.add_argument("--speed-batches", type=int, default=4)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--speed-sentences", type=int, default=100)
    p.add_argument("--quality-sentences", type=int, default=0, help="0: all of test2016")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    parts = args.parts.split(",")
    print(f"machine: {cpu_model()} | ISA {torch.backends.cpu.get_cpu_capability()} | "
          f"torch {torch.__version__} | {args.threads} threads")
    ckpt = args.checkpoint
    if "quality" in parts:
        q = quality(args)
        ckpt = q["checkpoint"]
        print(f"\n## test2016 De->En, {args.preset if not args.checkpoint else ckpt} "
              f"(checkpoint after {q['epoch']} epochs, step {q['steps']}; training CPU "
              f"{q['train_cpu_seconds'] or 0:.0f} s, wall {q['train_wall_seconds'] or 0:.0f} s"
              f", {q['stopped'] or 'given checkpoint'}); test ppl {q['ppl']:.2f}\n")
        print("| model | search | sacreBLEU | chrF | tok. lower-case BLEU | published PPL / BLEU"
              " (tok. lc, 10 epochs) |\n|---|---|---|---|---|---|")
        label = args.preset if not args.checkpoint else Path(ckpt).parent.name
        for beam, (bleu, chrf, tok) in q["rows"].items():
            print(f"| seqlab {label} | {'greedy' if beam == 1 else 'beam 5'} | "
                  f"{bleu:.2f} | {chrf:.2f} | {tok:.2f} | |")
        for name, (ppl, bleu) in PUBLISHED.items():
            print(f"| bentrevett {name} | greedy | | | {bleu} | {ppl} / {bleu} |")
    if "train_speed" in parts:
        s = train_speed(args)
        med = s["median"]
        print(f"\n## training tokens/s, {s['preset']} sizes (params seqlab "
              f"{s['params']['seqlab']:,}"
              f", plain {s['params']['plain']:,}), batch {s['batch']}, {s['batches']} batches x "
              f"{args.rounds} rounds, median\n")
        print("| trainer | target tokens/s | ratio vs plain |\n|---|---|---|")
        print(f"| seqlab Seq2Seq | {med['seqlab']:.0f} | {med['seqlab'] / med['plain']:.3f} |")
        print(f"| plain PyTorch (tutorial recipe) | {med['plain']:.0f} | 1.000 |")
    if "translate_speed" in parts and ckpt:
        t = translate_speed(args, ckpt)
        r = t["rates"]
        print(f"\n## translation sentences/s, first {t['sentences']} test2016 sentences\n")
        print("| search | batched (64) | one at a time | ratio |\n|---|---|---|---|")
        for beam in (1, 5):
            print(f"| {'greedy' if beam == 1 else 'beam 5'} | {r[(beam, 64)]:.1f} | "
                  f"{r[(beam, 1)]:.1f} | {r[(beam, 64)] / r[(beam, 1)]:.1f}x |")
    print(json.dumps({"parts": parts}))


if __name__ == "__main__":
    main()
