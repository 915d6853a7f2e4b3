"""The training loop shared by Word2Vec and FastText: chunks, worker threads, LR decay, progress.

The encoded corpus is cut into chunks of about ``CHUNK_WORDS`` tokens at sentence boundaries.
Each epoch, ``workers`` Python threads take chunks in turn and run the Numba kernel on them
with the GIL released (hogwild updates of the shared float32 matrices). The learning rate
decays linearly with progress ``p`` (tokens before the chunk / all tokens of all epochs):
``alpha(p) = alpha - (alpha - min_alpha) * p``, interpolated inside each chunk. Chunk ``c`` of
epoch ``e`` seeds its random generator from ``(seed, e, c)``, so a run with one worker is
reproducible.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import numpy as np

CHUNK_WORDS = 10_000


def make_chunks(starts: np.ndarray, chunk_words: int = CHUNK_WORDS) -> np.ndarray:
    """Sentence indices where chunks begin (and the final end), each about chunk_words tokens."""
    n_sent = len(starts) - 1
    cuts = np.searchsorted(starts, np.arange(0, starts[-1], chunk_words), side="left")
    cuts = np.unique(np.concatenate([cuts, [n_sent]]))
    cuts = cuts[cuts <= n_sent]
    return cuts if cuts[0] == 0 else np.concatenate([[0], cuts])


class Progress:
    """A one-line stderr progress bar: epoch, percent, words/s, running loss per example."""

    def __init__(self, enabled: bool, epochs: int, total: int) -> None:
        self.enabled, self.epochs, self.total = enabled, epochs, total
        self.last = 0.0

    def update(self, epoch: int, done: int, loss: float, examples: int, elapsed: float,
               final: bool = False) -> None:
        if not self.enabled or (not final and time.perf_counter() - self.last < 0.2):
            return
        self.last = time.perf_counter()
        frac = done / max(self.total, 1)
        bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
        rate = done / elapsed if elapsed > 0 else 0.0
        mean = loss / examples if examples else float("nan")
        sys.stderr.write(f"\repoch {epoch + 1}/{self.epochs} [{bar}] {100 * frac:5.1f}% "
                         f"{rate / 1e3:8.0f}k words/s  loss/example {mean:.4f}")
        if final:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _worker(kernel, cuts, starts, epoch, seed_epoch, total, grand, alpha, min_alpha, seed, state,
            lock, errors) -> None:
    """Take chunks until none is left; record results under ``lock``."""
    n_chunks = len(cuts) - 1
    try:
        while True:
            with lock:
                c = state["next"]
                state["next"] += 1
            if c >= n_chunks:
                return
            lo, hi = int(cuts[c]), int(cuts[c + 1])
            p_lo = (epoch * total + starts[lo]) / grand
            p_hi = (epoch * total + starts[hi]) / grand
            chunk_seed = (seed * 1_000_003 + seed_epoch * 65_537 + c) % (2**63) + 1
            loss, examples, words = kernel(lo, hi, alpha - (alpha - min_alpha) * p_lo,
                                           alpha - (alpha - min_alpha) * p_hi, chunk_seed)
            with lock:
                state["loss"] += loss
                state["examples"] += examples
                state["words"] += words
                state["done"] += int(starts[hi] - starts[lo])
    except BaseException as exc:  # surfaced in the main thread
        errors.append(exc)


def run_epochs(kernel: Callable, starts: np.ndarray, epochs: int, workers: int, alpha: float,
               min_alpha: float, seed: int, progress: bool,
               epoch_offset: int = 0) -> tuple[list[float], dict]:
    """Train ``epochs`` passes; ``kernel(s_lo, s_hi, alpha_lo, alpha_hi, seed)`` trains a chunk.

    ``epoch_offset`` (epochs trained before, when training continues) only shifts the chunk
    seeds, so a continued run does not replay the random streams of the first.

    Returns:
        per-epoch float64 losses and stats (``examples``, ``words`` after subsampling,
        ``seconds``).
    """
    cuts = make_chunks(starts)
    total = int(starts[-1])
    grand = max(total * epochs, 1)
    bar = Progress(progress, epochs, total)
    losses: list[float] = []
    stats = {"examples": 0, "words": 0, "seconds": 0.0}
    lock = threading.Lock()
    for epoch in range(epochs):
        state = {"next": 0, "loss": 0.0, "examples": 0, "words": 0, "done": 0}
        errors: list[BaseException] = []

        t0 = time.perf_counter()
        args = (kernel, cuts, starts, epoch, epoch_offset + epoch, total, grand, alpha, min_alpha,
                seed, state, lock, errors)
        threads = [threading.Thread(target=_worker, args=args, daemon=True)
                   for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.1)
                bar.update(epoch, state["done"], state["loss"], state["examples"],
                           time.perf_counter() - t0)
        if errors:
            raise errors[0]
        elapsed = time.perf_counter() - t0
        bar.update(epoch, state["done"], state["loss"], state["examples"], elapsed, final=True)
        losses.append(float(state["loss"]))
        stats["examples"] += state["examples"]
        stats["words"] += state["words"]
        stats["seconds"] += elapsed
    return losses, stats
