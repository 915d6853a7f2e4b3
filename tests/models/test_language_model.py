import pytest
import torch

from seqlab.errors import ConfigError, DataError
from seqlab.models.language_model import LanguageModel

V = 23


def tiny(**kw):
    torch.manual_seed(0)
    args = dict(embedding_dim=12, hidden_size=12, num_layers=2)
    args.update(kw)
    return LanguageModel(V, **args)


def test_equals_plain_torch_lm_with_copied_weights():
    # oracle: nn.Embedding -> nn.LSTM -> nn.Linear with the same weights (pytorch/examples LM)
    model = tiny().eval()
    emb = torch.nn.Embedding(V, 12)
    lstm = torch.nn.LSTM(12, 12, num_layers=2, batch_first=True)
    dec = torch.nn.Linear(12, V)
    model.embedding.load_state_dict(emb.state_dict())
    model.rnn.load_state_dict(lstm.state_dict())  # seqlab.nn accepts torch's parameter names
    model.decoder.load_state_dict(dec.state_dict())
    x = torch.randint(V, (3, 9))
    logits, (h, c) = model(x)
    out, (h2, c2) = lstm(emb(x))
    torch.testing.assert_close(logits, dec(out))
    torch.testing.assert_close(h, h2)
    torch.testing.assert_close(c, c2)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_step_by_step_equals_forward(cell):
    model = tiny(cell=cell).eval()
    x = torch.randint(V, (2, 8))
    full, _ = model(x)
    state, steps = None, []
    for t in range(x.shape[1]):
        logits, state = model.step(x[:, t], state)
        steps.append(logits)
    torch.testing.assert_close(torch.stack(steps, 1), full)


def test_zaremba_uniform_init_and_tied_weights():
    model = tiny(init="uniform", init_range=0.05, tie_weights=True)
    for name, p in model.named_parameters():
        assert p.abs().max() <= 0.05, name
        assert p.abs().max() > 0.04, name  # really drawn from the whole range
    assert model.decoder.weight is model.embedding.weight
    with pytest.raises(ConfigError, match="tie_weights needs embedding_dim == hidden_size"):
        LanguageModel(V, embedding_dim=8, hidden_size=12, tie_weights=True)


def test_overfits_a_tiny_batch():
    model = tiny(num_layers=1, init="default")
    x = torch.randint(V, (2, 10))
    y = torch.roll(x, -1, dims=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05


@pytest.mark.parametrize("tokens, match", [
    (torch.tensor([[0, V]]), f"holds id {V}, outside \\[0, {V}\\)"),
    (torch.tensor([[-1, 2]]), "holds id -1"),
    (torch.zeros(2, 3), "must be a long tensor of token ids, got torch.float32"),
    (torch.zeros(3, dtype=torch.long), r"must be 2-D \(B, T\), got shape \(3,\)"),
    (torch.zeros(2, 0, dtype=torch.long), "must not be empty"),
])
def test_bad_tokens_are_named(tokens, match):
    with pytest.raises(DataError, match=match):
        tiny()(tokens)


def test_bad_constructor_arguments():
    with pytest.raises(ConfigError, match="vocab_size must be an int > 0, got 0"):
        LanguageModel(0)
    with pytest.raises(ConfigError, match="model.cell must be one of"):
        LanguageModel(5, cell="transformer")
    with pytest.raises(DataError, match=r"token must be 1-D \(B,\)"):
        tiny().step(torch.zeros(2, 1, dtype=torch.long))
