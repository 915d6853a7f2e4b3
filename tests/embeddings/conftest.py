"""Shared corpora for the embedding tests."""

from __future__ import annotations

import numpy as np
import pytest

N_CLUSTERS, CLUSTER_SIZE = 6, 8


def cluster_corpus(n_sentences: int = 1500, length: int = 10, seed: int = 0):
    """Sentences drawn from one of ``N_CLUSTERS`` disjoint word groups: a word's true
    neighbours are exactly its ``CLUSTER_SIZE - 1`` cluster-mates."""
    rng = np.random.default_rng(seed)
    clusters = [[f"c{c}w{i}" for i in range(CLUSTER_SIZE)] for c in range(N_CLUSTERS)]
    return [[clusters[c][i] for i in rng.integers(0, CLUSTER_SIZE, length)]
            for c in rng.integers(0, N_CLUSTERS, n_sentences)]


@pytest.fixture(scope="session")
def clusters():
    return cluster_corpus()


def cluster_of(word: str) -> str:
    return word.split("w")[0]
