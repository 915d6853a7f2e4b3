"""LockedDropout: one mask per sequence over time, unbiased, identity in eval; in the tagger."""

from __future__ import annotations

import pytest
import torch

from seqlab.nn import LockedDropout


@pytest.mark.parametrize("batch_first", [True, False])
def test_one_mask_per_sequence_shared_by_every_step(batch_first):
    torch.manual_seed(0)
    x = torch.randn(4, 6, 5) + 3.0  # no exact zeros
    y = LockedDropout(0.4, batch_first=batch_first).train()(x)
    kept = y != 0
    time_dim = 1 if batch_first else 0
    first = kept.select(time_dim, 0).unsqueeze(time_dim)
    assert torch.equal(kept, first.expand_as(kept))  # the same features dropped at every step
    torch.testing.assert_close(y[kept], x[kept] / 0.6)
    assert 0 < int((~kept).sum()) < kept.numel()


def test_unbiased_and_drops_p_of_the_features():
    torch.manual_seed(1)
    x = torch.ones(20000, 2, 3, dtype=torch.float64)
    y = LockedDropout(0.3).train()(x)
    assert abs(float((y[:, 0] == 0).double().mean()) - 0.3) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.02


def test_gradient_is_the_scaled_mask_and_eval_is_the_identity():
    torch.manual_seed(2)
    x = torch.randn(3, 4, 5, dtype=torch.float64, requires_grad=True)
    drop = LockedDropout(0.5).train()
    y = drop(x)
    y.sum().backward()
    mask = (y.detach() != 0).double()
    torch.testing.assert_close(x.grad, mask * 2.0)
    assert drop.eval()(x) is x
    assert LockedDropout(0.0).train()(x) is x


def test_bad_rate_and_rank_are_named():
    with pytest.raises(ValueError, match="p must be in"):
        LockedDropout(1.0)
    with pytest.raises(ValueError, match=r"got shape \(3, 4\)"):
        LockedDropout(0.5).train()(torch.ones(3, 4))


def test_tagger_variational_dropout_uses_one_mask_per_sentence():
    from seqlab.models.tagger import Tagger, TaggerConfig

    assets = {"words": ["<pad>", "<unk>", "a", "b", "c"], "tags": ["A", "B"], "scheme": None}
    model = Tagger.from_config(TaggerConfig(hidden_size=4, embedding_dim=16, dropout=0.5,
                                            word_dropout=0.0, variational_dropout=True),
                               assets).train()
    assert isinstance(model.drop, LockedDropout)
    seen = {}
    model.rnn.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    torch.manual_seed(3)
    batch = {"words": torch.tensor([[2, 3, 4, 2], [4, 3, 0, 0]]),
             "lengths": torch.tensor([4, 2]), "tags": torch.tensor([[0, 1, 0, 1], [1, 0, 0, 0]])}
    model.loss(batch)
    kept = seen["x"] != 0
    for b, n in enumerate([4, 2]):
        assert torch.equal(kept[b, :n], kept[b, :1].expand(n, -1))
    assert not bool(kept[0, 0].all())
    plain = Tagger.from_config(TaggerConfig(hidden_size=4, embedding_dim=16), assets)
    assert isinstance(plain.drop, torch.nn.Dropout)
