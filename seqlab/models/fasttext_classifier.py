r"""fastText-style classifier (Joulin et al. 2016): the mean of word and hashed word-n-gram
embeddings into a linear softmax.

For a text of real tokens ``x_1..x_n`` (vocabulary ids, ``V`` of them) and n-gram orders
``k = 2..ngrams``::

    g(w)        = FNV-1a 32-bit hash of the word's string (fastText's word hash)
    b_t^(k)     = (...((g(x_t) * 116049371 + g(x_t+1)) mod S) * 116049371 + ...) mod S
                  for the k words x_t..x_t+k-1 (t + k - 1 <= n), S = buckets
    z           = mean over { A[x_t] : t <= n } and { A[V + b_t^(k)] : every k, t }
    s           = W z + c                                # (B, C); p(c | x) = softmax(s)_c

``A`` is one ``nn.EmbeddingBag(V + S, D, mode="mean")`` table (words in rows ``0..V-1``,
n-gram buckets after them); padding positions use row 0 (``<pad>``, excluded from the mean).
fastText multiplies and adds in 64-bit unsigned arithmetic and takes ``mod S`` once at the
end; taking it at each step here keeps every product below 2^59 in int64, so bucket ids differ
from fastText's (the model is the same). Unknown words share ``<unk>``'s hash. The loss,
labels, class weights and figures are :class:`~seqlab.models.classifier.ClassifierHead`'s
(multi-label: a sigmoid per class, fastText's ``-loss ova``).

Reference: Joulin, Grave, Bojanowski, Mikolov, "Bag of Tricks for Efficient Text
Classification", 2016 (EACL 2017): word + bigram features, hidden size 10, linear softmax.

Example:
    >>> import torch
    >>> assets = {"vocab": {"tokens": ["<pad>", "<unk>", "<bos>", "<eos>", "good", "bad"]},
    ...           "labels": ["neg", "pos"]}
    >>> model = FastTextClassifier.from_config(FastTextConfig(embedding_dim=4, buckets=50),
    ...                                        assets)
    >>> ids = model.bag_ids(torch.tensor([[4, 5, 4], [5, 0, 0]]), torch.tensor([3, 1]))
    >>> ids.tolist()[1][1:], bool((ids[0, 3:] >= 6).all())
    ([0, 0, 0, 0], True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from seqlab.config import check
from seqlab.errors import DataError
from seqlab.models.classifier import ClassifierHead

MULTIPLIER = 116049371  # fastText's word-n-gram hash multiplier (Dictionary::addWordNgrams)


@dataclass
class FastTextConfig:
    """The fastText-style classifier's shape (see the module docstring)."""

    HELP: ClassVar[dict[str, str]] = {
        "embedding_dim": "width D of the averaged embedding (fastText: -dim, 10 in the paper)",
        "ngrams": "longest word n-gram (1: words only; fastText: -wordNgrams)",
        "buckets": "hash buckets S of the n-grams (fastText: -bucket)",
        "dropout": "dropout on the averaged vector", "class_weights": "'' (none), balanced "
        "or LABEL:W,LABEL:W", "init_range": "embedding init U(-r, r) (fastText: 1 / D)",
        "sparse": "sparse embedding gradients (only rows in the batch are updated; needs "
                  "train.optimizer sgd and train.clip 0)"}
    RESUMABLE: ClassVar[tuple[str, ...]] = ()

    embedding_dim: int = 10
    ngrams: int = 2
    buckets: int = 200_000
    dropout: float = 0.0
    class_weights: str = ""
    init_range: float = 0.0  # 0: 1 / embedding_dim, as fastText
    sparse: bool = False

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "ngrams", "buckets"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"model.{name}", "an int > 0", value)
        check(self.buckets < 2 ** 31, "model.buckets", "< 2**31", self.buckets)
        check(0.0 <= self.dropout < 1.0, "model.dropout", "in [0, 1)", self.dropout)
        check(self.init_range >= 0, "model.init_range", ">= 0", self.init_range)


def word_hash(word: str) -> int:
    """fastText's FNV-1a over the word's UTF-8 bytes (seqlab.embeddings' n-gram hash)."""
    from seqlab.embeddings.fasttext import ngram_hash

    return ngram_hash(word)


class FastTextClassifier(ClassifierHead):
    """Averaged word + hashed n-gram embeddings -> linear layer (module docstring).

    ``forward(tokens (B, T), lengths (B,))`` -> ``(scores (B, C), None)``.
    """

    task = "fasttext"
    config_class = FastTextConfig

    def __init__(self, config: FastTextConfig, assets: Mapping[str, Any]) -> None:
        super().__init__()
        self.config, self._assets = config, dict(assets)
        self._setup_labels(assets, config.class_weights)
        vocab = assets.get("vocab")
        if not vocab:
            raise DataError("the fastText classifier needs the vocabulary in its assets "
                            "(the words are hashed into n-gram buckets)")
        tokens = vocab["tokens"]
        self.vocab_size = len(tokens)
        self.register_buffer("hashes", torch.tensor([word_hash(t) for t in tokens],
                                                    dtype=torch.long), persistent=False)
        rows = self.vocab_size + (config.buckets if config.ngrams > 1 else 0)
        self.bag = nn.EmbeddingBag(rows, config.embedding_dim, mode="mean", padding_idx=0,
                               sparse=config.sparse)
        self.drop = nn.Dropout(config.dropout)
        self.linear = nn.Linear(config.embedding_dim, self.n_classes)
        r = config.init_range or 1.0 / config.embedding_dim
        with torch.no_grad():
            self.bag.weight.uniform_(-r, r)
            self.bag.weight[0].zero_()

    @classmethod
    def from_config(cls, config: FastTextConfig, assets: Mapping[str, Any]
                    ) -> FastTextClassifier:
        return cls(config, assets)

    def bag_ids(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        """(B, T) word ids -> (B, T + sum_k (T - k + 1)) rows of ``bag`` (0 = padding)."""
        T = tokens.shape[1]
        steps = torch.arange(T, device=tokens.device)[None, :]
        parts = [tokens.masked_fill(steps >= lengths[:, None], 0)]
        g = self.hashes[tokens]  # (B, T)
        S = self.config.buckets
        for k in range(2, self.config.ngrams + 1):
            if T < k:
                break
            h = g[:, :T - k + 1] % S
            for j in range(1, k):
                h = (h * MULTIPLIER + g[:, j:T - k + 1 + j]) % S
            real = steps[:, :T - k + 1] + (k - 1) < lengths[:, None]
            parts.append(torch.where(real, h + self.vocab_size, torch.zeros_like(h)))
        return torch.cat(parts, dim=1)

    def forward(self, tokens: Tensor, lengths: Tensor) -> tuple[Tensor, None]:
        self.check_tokens(tokens, lengths)
        lengths = lengths.to(tokens.device).long()
        z = self.bag(self.bag_ids(tokens, lengths))
        return self.linear(self.drop(z)), None


# fastText on SST-2: the paper's shape (dim 10, bigrams) and optimiser (SGD on sparse rows,
# the learning rate decayed to 0; cosine here where fastText decays linearly); batches of 32
# with the batch-mean loss where fastText steps per text, hence the larger lr.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "sst2-fasttext": {
        "model": {"embedding_dim": 10, "ngrams": 2, "buckets": 200_000, "sparse": True},
        "data": {"dataset": "sst2", "train_set": "glue", "batch_size": 32},
        "train": {"optimizer": "sgd", "lr": 1.0, "schedule": "cosine", "min_lr": 0.0,
                  "epochs": 5, "clip": 0.0, "loss_reduction": "sequence", "log_every": 500},
    },
    "sst2-fasttext-sentences": {
        "model": {"embedding_dim": 10, "ngrams": 2, "buckets": 200_000, "sparse": True},
        "data": {"dataset": "sst2", "train_set": "sentences", "batch_size": 8},
        "train": {"optimizer": "sgd", "lr": 1.0, "schedule": "cosine", "min_lr": 0.0,
                  "epochs": 10, "clip": 0.0, "loss_reduction": "sequence"},
    },
}
