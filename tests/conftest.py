"""Shared fixtures. Dataset tests read the SEQLAB_DATA mirror and skip, saying why, without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def data_root() -> Path | None:
    root = os.environ.get("SEQLAB_DATA")
    if root and Path(root).is_dir():
        return Path(root)
    # a checkout beside ../shared (this workplace's and CI's layout)
    guess = Path(__file__).resolve().parents[2] / "shared" / "data"
    return guess if guess.is_dir() else None


@pytest.fixture
def shared_data():
    """Path of the dataset mirror; skips the test with a reason if there is none."""
    root = data_root()
    if root is None:
        pytest.skip("dataset mirror not found: set SEQLAB_DATA to a copy of shared/data")
    return root


@pytest.fixture(autouse=True)
def _few_threads():
    """Tests run beside other jobs on 2 cores; keep torch from oversubscribing them."""
    try:
        import torch
    except ImportError:  # classical tests do not need torch
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
