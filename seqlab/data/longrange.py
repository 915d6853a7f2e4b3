"""Long-range synthetic tasks, generated and seeded (nothing to download).

* :func:`adding_problem` (Hochreiter & Schmidhuber 1997; the form of Bai et al. 2018):
  ``x`` (N, T, 2): channel 0 holds values ``u_t ~ U(0, 1)``, channel 1 is 1 at exactly two
  steps, one drawn uniformly from each half of the sequence, 0 elsewhere.
  ``y = u_a + u_b`` (N,), the sum of the two marked values. Always predicting 1 gives
  ``E[(y - 1)^2] = Var(u_a + u_b) = 1/6 = 0.1667`` here; the papers quote 0.1767.
* :func:`copy_memory` (Hochreiter & Schmidhuber 1997; Bai et al. 2018): symbols ``0..9``, 0 blank,
  9 the delimiter. Input of length ``T + 2 * recall``: ``recall`` symbols drawn from
  ``1..alphabet``, then ``T - 1`` blanks, the delimiter, ``recall`` blanks. Target: ``T +
  recall`` blanks, then the first ``recall`` symbols copied. Predicting blanks everywhere and
  a uniform guess over the alphabet at the last ``recall`` steps costs ``recall * ln(alphabet)
  / (T + 2 * recall)`` nats per step (10 ln 8 / (T + 20) in the papers).
* :func:`sevenseg_digits`: a sequential (pixel-by-pixel) classification task. Nothing in
  seqlab's runtime dependencies ships a digit image set (scikit-learn's ``load_digits`` is a
  test extra only), so the images are generated: seven-segment digits 0-9 drawn on a 12 x 8
  grid with a random shift of up to one pixel each way, a random stroke dropout and Gaussian
  pixel noise, read row by row as T = 96 steps of one pixel each. Chance: 10% accuracy,
  ln 10 nats.

Every generator takes a ``seed`` and returns the same tensors for the same arguments.

Example:
    >>> x, y = adding_problem(4, 10, seed=0)
    >>> tuple(x.shape), tuple(y.shape)
    ((4, 10, 2), (4,))
    >>> bool(torch.allclose((x[..., 0] * x[..., 1]).sum(1), y))
    True
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from seqlab.errors import ConfigError

ADDING_CHANCE_PUBLISHED = 0.1767  # Bai et al. 2018, "predicting 1 regardless of input"
ADDING_CHANCE = 1.0 / 6.0  # exact for this generator


def copy_chance(length: int, recall: int = 10, alphabet: int = 8) -> float:
    """Nats per step of the memoryless strategy: ``recall ln(alphabet) / (T + 2 recall)``."""
    return recall * math.log(alphabet) / (length + 2 * recall)


def _check(n: int, length: int, min_length: int = 1) -> None:
    for name, value, low in (("n", n, 1), ("length", length, min_length)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(f"{name} must be an int >= {low}, got {value!r}")


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def adding_problem(n: int, length: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` adding-problem sequences of ``length`` T >= 2: ``(x (n, T, 2), y (n,))``."""
    _check(n, length, 2)
    gen = _generator(seed)
    values = torch.rand(n, length, generator=gen)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=gen)
    second = torch.randint(half, length, (n,), generator=gen)
    marks = torch.zeros(n, length)
    rows = torch.arange(n)
    marks[rows, first] = 1.0
    marks[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return torch.stack([values, marks], -1), y


def copy_memory(n: int, length: int, recall: int = 10, alphabet: int = 8,
                seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` copy-memory sequences: ``(x, y)`` long tensors of shape (n, T + 2 * recall).

    Symbols: 0 blank, ``1..alphabet`` data, ``alphabet + 1`` the delimiter.
    """
    _check(n, length, 1)
    if not isinstance(recall, int) or recall < 1:
        raise ConfigError(f"recall must be an int >= 1, got {recall!r}")
    if not isinstance(alphabet, int) or alphabet < 2:
        raise ConfigError(f"alphabet must be an int >= 2, got {alphabet!r}")
    gen = _generator(seed)
    symbols = torch.randint(1, alphabet + 1, (n, recall), generator=gen)
    total = length + 2 * recall
    x = torch.zeros(n, total, dtype=torch.long)
    x[:, :recall] = symbols
    x[:, length + recall - 1] = alphabet + 1
    y = torch.zeros(n, total, dtype=torch.long)
    y[:, -recall:] = symbols
    return x, y


# segments a..g of a seven-segment digit on a 12 x 8 grid: (row slice, column slice)
_ROWS, _COLS = 12, 8
_SEGMENTS = {
    "a": (slice(1, 2), slice(2, 6)), "b": (slice(1, 6), slice(5, 6)),
    "c": (slice(6, 11), slice(5, 6)), "d": (slice(10, 11), slice(2, 6)),
    "e": (slice(6, 11), slice(2, 3)), "f": (slice(1, 6), slice(2, 3)),
    "g": (slice(5, 7), slice(2, 6)),
}
_DIGITS = ["abcdef", "bc", "abdeg", "abcdg", "bcfg", "acdfg", "acdefg", "abc", "abcdefg",
           "abcdfg"]


def _templates() -> Tensor:
    out = torch.zeros(10, _ROWS, _COLS)
    for digit, segs in enumerate(_DIGITS):
        for s in segs:
            rows, cols = _SEGMENTS[s]
            out[digit, rows, cols] = 1.0
    return out


def sevenseg_digits(n: int, seed: int = 0, noise: float = 0.2,
                    drop: float = 0.1) -> tuple[Tensor, Tensor]:
    """``n`` noisy seven-segment digit images read pixel by pixel: ``(x (n, 96, 1), y (n,))``.

    Each pixel of a lit segment is switched off with probability ``drop``; the image is shifted
    by -1, 0 or 1 pixel on each axis; ``N(0, noise^2)`` is added to every pixel.
    """
    _check(n, 96)
    gen = _generator(seed)
    y = torch.randint(0, 10, (n,), generator=gen)
    images = _templates()[y]
    images = images * (torch.rand(images.shape, generator=gen) >= drop)
    shifts = torch.randint(-1, 2, (n, 2), generator=gen)
    shifted = torch.stack([torch.roll(img, (int(dy), int(dx)), (0, 1))
                           for img, (dy, dx) in zip(images, shifts)]) if n else images
    shifted = shifted + noise * torch.randn(shifted.shape, generator=gen)
    return shifted.reshape(n, _ROWS * _COLS, 1), y
