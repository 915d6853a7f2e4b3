"""How training reports itself: a live tqdm bar in a terminal, plain fixed-width lines elsewhere.

With ``progress_bar="auto"`` the bar appears only when standard error is a terminal: it shows
the epoch's batches, the ETA, items per second and the running loss, and evaluation lines are
printed above it. In CI or with output redirected to a file, every ``log_every`` steps one
fixed-width line is logged instead (the pytorch/examples layout), so logs stay greppable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def format_metric(name: str, value: float) -> str:
    """``ppl   123.45`` (perplexities are wide), else ``loss  4.567``: fixed width per name;
    figures below 0.01 (an MSE near 0) in scientific notation, ``loss 5.3e-05``."""
    if name == "ppl":
        return f"ppl {value:9.2f}"
    if 0 < abs(value) < 0.01:
        return f"{name} {value:6.1e}"
    return f"{name} {value:6.3f}"


class Reporter:
    """Routes progress to ``log`` lines or to a tqdm bar (see the module docstring)."""

    def __init__(self, log: Callable[[str], None], mode: str = "auto", unit: str = "tok",
                 stream=None, mininterval: float = 0.1) -> None:
        self.log, self.unit, self.mininterval = log, unit, mininterval
        stream = stream if stream is not None else sys.stderr
        self.enabled = mode == "on" or (mode == "auto" and _is_terminal(stream))
        self.stream = stream
        self.bar = None
        self._last = 0.0

    def start_epoch(self, epoch: int, total: int, done: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self.close()
        self.bar = tqdm(total=total, initial=done, desc=f"epoch {epoch}", unit="batch",
                        file=self.stream, dynamic_ncols=True, leave=False,
                        mininterval=self.mininterval)

    def step(self, loss: float, rate: float) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.perf_counter()
        if now - self._last > 5 * self.mininterval:  # the postfix string costs: not every step
            self.bar.set_postfix_str(f"loss {loss:.3f}, {self.unit}/s {rate:,.0f}",
                                     refresh=False)
            self._last = now

    def train_line(self, text: str) -> None:
        """A periodic training line: logged when there is no bar (the bar shows the same)."""
        if not self.enabled:
            self.log(text)

    def line(self, text: str) -> None:
        """An event line (evaluation, resume): printed above the bar, or logged."""
        if self.bar is None:
            self.log(text)
            return
        with self.bar.external_write_mode():  # clear the bar, print, draw it again
            self.log(text)

    def end_epoch(self) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
