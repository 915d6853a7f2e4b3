"""PTB word corpus: seqlab `prepare` + `LMStream` vs the pytorch/examples recipe, same process.

The peer is the word_language_model recipe written here from its description: a Dictionary
(word -> index, growing), each line split on whitespace plus ``<eos>``, one LongTensor per line
concatenated (train/valid/test), then ``batchify`` (time-major rows) and ``get_batch`` windows.
seqlab tokenizes the same text into uint16 ``.npy`` memmaps (fresh folder, no cache hit) and
cuts batch-first windows with ``LMStream``. Both must give the same windows up to the id
numbering, which is checked (ids are mapped through each side's vocabulary) before timing.

Also reported: peak Python heap during preparation (tracemalloc, a separate run), the
size the ids take, and a cache-hit re-run of ``prepare``.

    flock /tmp/seqlab-heavy.lock .venv/bin/python benchmarks/prepare_ptb.py
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
import tracemalloc
from pathlib import Path

import torch

from seqlab.data.batching import LMStream
from seqlab.data.corpus import prepare

SPLITS = ("train", "valid", "test")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    return (f"{platform.platform()}; {cpu}; {os.cpu_count()} cores; "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def peer_corpus(folder: Path) -> tuple[dict[str, torch.Tensor], list[str]]:
    """pytorch/examples-style Corpus: a growing dictionary, one tensor per line, concatenated."""
    word2idx: dict[str, int] = {}
    idx2word: list[str] = []
    splits = {}
    for split in SPLITS:
        pieces = []
        with open(folder / f"ptb.{split}.txt", encoding="utf-8") as handle:
            for line in handle:
                words = line.split() + ["<eos>"]
                for word in words:
                    if word not in word2idx:
                        word2idx[word] = len(idx2word)
                        idx2word.append(word)
                pieces.append(torch.tensor([word2idx[w] for w in words], dtype=torch.int64))
        splits[split] = torch.cat(pieces)
    return splits, idx2word


def peer_windows(data: torch.Tensor, batch_size: int, bptt: int) -> list:
    """batchify (time-major, B columns) then get_batch over the whole pass."""
    nbatch = data.size(0) // batch_size
    source = data[: nbatch * batch_size].view(batch_size, -1).t().contiguous()
    out = []
    for i in range(0, source.size(0) - 1, bptt):
        seq_len = min(bptt, source.size(0) - 1 - i)
        out.append((source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)))
    return out


def seqlab_prepare(out: Path):
    shutil.rmtree(out, ignore_errors=True)
    return prepare("ptb", out)


def best_of(repeats: int, fn, *args):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return result, min(times)


def peak_heap(fn, *args) -> float:
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("SEQLAB_DATA", "../shared/data"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=35)
    args = parser.parse_args()
    os.environ["SEQLAB_DATA"] = str(Path(args.data).resolve())
    torch.set_num_threads(1)
    folder = Path(args.data) / "ptb"
    work = Path(tempfile.mkdtemp(prefix="seqlab-bench-prepare-"))
    try:
        corpus, t_seqlab = best_of(args.repeats, seqlab_prepare, work / "ptb")
        (peer, peer_vocab), t_peer = best_of(args.repeats, peer_corpus, folder)
        _, t_hit = best_of(args.repeats, prepare, "ptb", work / "ptb")

        # same token streams, up to numbering
        for split in SPLITS:
            ours = corpus.vocab.decode(corpus.ids(split))
            theirs = [peer_vocab[i] for i in peer[split].tolist()]
            assert ours == theirs, f"token streams differ on {split}"
        windows, t_stream = best_of(args.repeats, lambda: list(LMStream(
            corpus.ids("train"), args.batch_size, args.bptt)))
        peer_w, t_peer_stream = best_of(args.repeats, peer_windows, peer["train"],
                                        args.batch_size, args.bptt)
        assert len(windows) == len(peer_w)
        x, _ = windows[3]
        px, _ = peer_w[3]
        assert corpus.vocab.decode(x.flatten()) == [peer_vocab[i] for i in px.t().flatten()]

        heap_seqlab = peak_heap(seqlab_prepare, work / "ptb")
        heap_peer = peak_heap(peer_corpus, folder)
        disk = sum((work / "ptb" / f"{s}.npy").stat().st_size for s in SPLITS) / 2**20
        ram_peer = sum(t.numel() * t.element_size() for t in peer.values()) / 2**20
    finally:
        shutil.rmtree(work, ignore_errors=True)

    tokens = sum(corpus.num_tokens(s) for s in SPLITS)
    print(f"PTB words, {tokens:,} tokens (train/valid/test), vocab seqlab {len(corpus.vocab)} "
          f"(10,000 + <pad> + <bos>), peer {len(peer_vocab)}; best of {args.repeats}")
    print(f"machine: {machine()}")
    print()
    print("| figure | seqlab | pytorch/examples recipe | ratio (peer/seqlab) |")
    print("|---|---|---|---|")
    print(f"| tokenize + ids, s | {t_seqlab:.3f} | {t_peer:.3f} | {t_peer / t_seqlab:.2f} |")
    print(f"| tokens/s | {tokens / t_seqlab:,.0f} | {tokens / t_peer:,.0f} | "
          f"{t_peer / t_seqlab:.2f} |")
    print(f"| peak Python heap while preparing, MiB | {heap_seqlab:.1f} | {heap_peer:.1f} | "
          f"{heap_peer / heap_seqlab:.2f} |")
    print(f"| ids stored, MiB | {disk:.2f} (uint16 .npy) | {ram_peer:.2f} (int64 in RAM) | "
          f"{ram_peer / disk:.2f} |")
    print(f"| one train pass of windows B={args.batch_size} T={args.bptt}, s | {t_stream:.3f} | "
          f"{t_peer_stream:.3f} | {t_peer_stream / t_stream:.2f} |")
    print(f"| re-run (cache hit), s | {t_hit:.4f} | n/a | |")


if __name__ == "__main__":
    main()
