"""Seq2seq model: teacher-forced paths against the step loop, bridge, attention, loss, figures."""

from __future__ import annotations

import math

import pytest
import sacrebleu
import torch

from seqlab.errors import ConfigError, DataError
from seqlab.models.seq2seq import Seq2Seq
from seqlab.models.seq2seq_text import detokenize_words, scores, stat_sums

DECODERS = [
    {"decoder": "fixed"},
    {"decoder": "context"},
    {"decoder": "attention", "attention": "additive", "attention_style": "bahdanau"},
    {"decoder": "attention", "attention": "dot", "attention_style": "luong"},
    {"decoder": "attention", "attention": "general", "attention_style": "luong",
     "input_feeding": True},
]


def tiny(seed=0, **kw):
    torch.manual_seed(seed)
    opts = dict(embedding_dim=6, hidden_size=8, dropout=0.0, bidirectional=True,
                encoder_hidden_size=4, backend="reference")
    opts.update(kw)
    return Seq2Seq(13, 11, **opts).double().eval()


def batch(seed=1, B=3, S=5, T=4):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, S + 1, (B,), generator=g)
    lengths[0] = S
    src = torch.randint(4, 13, (B, S), generator=g) * (torch.arange(S) < lengths[:, None])
    tgt = torch.randint(4, 11, (B, T + 2), generator=g)
    tgt[:, 0] = 2
    tgt[:, -1] = 3
    tgt[1, -2:] = torch.tensor([3, 0])
    return src, lengths, tgt


@pytest.mark.parametrize("opts", DECODERS, ids=lambda o: "-".join(map(str, o.values())))
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_teacher_forced_forward_equals_the_step_loop(opts, cell):
    model = tiny(cell=cell, **opts)
    src, lengths, tgt = batch()
    logits, att = model(src, lengths, tgt[:, :-1])
    state, steps, atts = model.encode(src, lengths), [], []
    for t in range(tgt.shape[1] - 1):
        out, state, a = model.step(tgt[:, t], state)
        steps.append(out)
        atts.append(a)
    torch.testing.assert_close(logits, torch.stack(steps, 1), rtol=1e-10, atol=1e-10)
    if opts["decoder"] == "attention":
        torch.testing.assert_close(att, torch.stack(atts, 1), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("opts", DECODERS[2:], ids=["bahdanau", "luong-dot", "luong-feed"])
def test_attention_weights_sum_to_one_and_are_zero_on_padding(opts):
    model = tiny(**opts)
    src, lengths, tgt = batch()
    _, att = model(src, lengths, tgt[:, :-1])  # (B, T, S)
    real = torch.arange(src.shape[1])[None, :] < lengths[:, None]
    torch.testing.assert_close(att.sum(-1), torch.ones(att.shape[:2], dtype=att.dtype))
    assert (att.masked_select(~real[:, None, :].expand_as(att)) == 0).all()


@torch.no_grad()
def test_luong_dot_weights_by_hand():
    model = tiny(decoder="attention", attention="dot", attention_style="luong", cell="rnn")
    src, lengths, tgt = batch()
    state = model.encode(src, lengths)
    h_enc = state.memory.outputs  # (B, S, 8)
    _, new, a = model.step(tgt[:, 0], state)
    s_t = new.rnn[-1]  # (B, 8): the query of Luong's attention
    for b in range(src.shape[0]):
        n = int(lengths[b])
        e = [float(s_t[b] @ h_enc[b, j]) for j in range(n)]
        z = sum(math.exp(v) for v in e)
        expected = [math.exp(v) / z for v in e] + [0.0] * (src.shape[1] - n)
        assert a[b].tolist() == pytest.approx(expected, abs=1e-12)


def test_gradcheck_of_the_attention_decoder_float64():
    model = tiny(decoder="attention", attention="additive", cell="gru")
    src, lengths, tgt = batch(B=2, S=3, T=2)
    state = model.encode(src, lengths)
    outputs = state.memory.outputs.detach().requires_grad_(True)

    def f(outputs):
        from dataclasses import replace

        mem = replace(state.memory, outputs=outputs,
                      keys=model.decoder.attention.project_keys(outputs))
        logits, _, a = model.step(tgt[:, 0], replace(state, memory=mem))
        return logits, a

    assert torch.autograd.gradcheck(f, (outputs,), eps=1e-6, atol=1e-6)


def test_bridge_sum_and_zero():
    model = tiny(cell="gru", bidirectional=True, bridge="sum", encoder_hidden_size=8,
                 decoder="fixed")
    src, lengths, _ = batch()
    _, final = model.encoder(src, lengths)
    state = model.encode(src, lengths)
    torch.testing.assert_close(state.rnn, (final[0] + final[1])[None])
    zero = tiny(cell="lstm", bridge="zero", decoder="fixed").encode(src, lengths)
    assert all((s == 0).all() for s in zero.rnn)
    with pytest.raises(ConfigError, match="bridge='sum' needs"):
        tiny(bridge="sum", encoder_hidden_size=4)


def test_any_cell_on_either_side_and_layer_mismatch():
    model = tiny(cell="lstm", decoder_cell="gru", num_layers=2, encoder_layers=1)
    src, lengths, tgt = batch()
    out = model.loss((src, lengths, tgt, torch.zeros(3, 0, dtype=torch.uint8)))
    assert math.isfinite(out.loss.item()) and out.count == int((tgt[:, 1:] != 0).sum())
    with pytest.raises(ConfigError, match="bidirectional"):
        tiny(cell="mingru", bidirectional=True)


def test_loss_is_token_weighted_and_label_smoothing_matches_torch():
    model = tiny(label_smoothing=0.1)
    src, lengths, tgt = batch()
    out = model.loss((src, lengths, tgt, torch.zeros(3, 0, dtype=torch.uint8)))
    logits, _ = model(src, lengths, tgt[:, :-1])
    gold = tgt[:, 1:].reshape(-1)
    keep = gold != 0
    ref = torch.nn.CrossEntropyLoss(reduction="sum", label_smoothing=0.1)(
        logits.reshape(-1, 11)[keep], gold[keep])
    torch.testing.assert_close(out.loss, ref)
    nll = torch.nn.functional.cross_entropy(logits.reshape(-1, 11)[keep], gold[keep],
                                            reduction="sum")
    assert out.sums["nll"] == pytest.approx(nll.item()) and out.count == int(keep.sum())


def test_scheduled_sampling_ratio_decays_linearly():
    model = tiny(teacher_forcing=1.0, teacher_forcing_min=0.2, teacher_forcing_decay_steps=10)
    model.train()
    src, lengths, tgt = batch()
    assert model.teacher_forcing_ratio() == 1.0
    for _ in range(5):
        model.loss((src, lengths, tgt, torch.zeros(3, 0, dtype=torch.uint8)))
    assert model.teacher_forcing_ratio() == pytest.approx(0.6)
    model.train_steps.fill_(100)
    assert model.teacher_forcing_ratio() == pytest.approx(0.2)


def test_source_longer_than_the_limit_is_an_error():
    model = tiny(max_source_length=3)
    src, lengths, _ = batch()
    with pytest.raises(DataError, match="longer than the model's limit max_source_length=3"):
        model.encode(src, lengths)


def test_bleu_and_chrf_from_summed_statistics_equal_sacrebleu():
    hyps = ["A man rides a bike .", "Two dogs play in the snow", "A woman is cooking.",
            "People walk down the street"]
    refs = ["A man is riding a bike.", "Two dogs are playing in snow .", "A woman cooks.",
            "People are walking on a street"]
    totals: dict[str, float] = {}
    for lo, hi in ((0, 1), (1, 3), (3, 4)):  # three batches, summed
        for k, v in stat_sums(hyps[lo:hi], refs[lo:hi]).items():
            totals[k] = totals.get(k, 0.0) + v
    got = scores(totals)
    assert got["bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)
    assert got["chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    low = [" ".join(h.lower().replace(".", " .").split()) for h in hyps]
    low_r = [" ".join(r.lower().replace(".", " .").split()) for r in refs]
    assert got["tok_bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(low, [low_r], tokenize="none").score, abs=1e-9)


def test_detokenize_words():
    assert detokenize_words(["a", "man", "'s", "hat", ",", "red", "."]) == "a man's hat, red."


@pytest.mark.parametrize("output_dropout,kept", [(0.0, True), (-1.0, False)])
def test_output_dropout_sets_the_rate_before_the_output_layer_only(output_dropout, kept):
    model = tiny(cell="lstm", decoder="fixed", bidirectional=False, encoder_hidden_size=8,
                 dropout=0.5, output_dropout=output_dropout).train()
    seen = {}
    model.decoder.rnn.register_forward_hook(lambda m, i, o: seen.update(rnn=o[0]))
    model.decoder.out.register_forward_pre_hook(lambda m, i: seen.update(out=i[0]))
    src, lengths, tgt = batch()
    model(src, lengths, tgt[:, :-1])
    assert torch.equal(seen["rnn"], seen["out"]) is kept
    assert model.decoder.drop.p == 0.5  # the embeddings keep model.dropout
    with pytest.raises(ConfigError, match="output_dropout"):
        tiny(output_dropout=1.5)


def test_reversal_index_reverses_each_row_within_its_length_and_is_its_own_inverse():
    from seqlab.models.seq2seq_decoders import reversal_index
    lengths = torch.tensor([5, 3, 1])
    order = reversal_index(lengths, 5)
    expect = [[4, 3, 2, 1, 0], [2, 1, 0, 3, 4], [0, 1, 2, 3, 4]]
    assert order.tolist() == expect
    x = torch.arange(15).view(3, 5)
    assert torch.equal(x.gather(1, order).gather(1, order), x)


@pytest.mark.parametrize("cell,bidirectional", [("lstm", False), ("gru", True)])
def test_reverse_source_equals_encoding_each_reversed_sentence_alone(cell, bidirectional):
    plain = tiny(cell=cell, bidirectional=bidirectional, num_layers=2)
    rev = tiny(cell=cell, bidirectional=bidirectional, num_layers=2, reverse_source=True)
    rev.load_state_dict(plain.state_dict())
    src, lengths, _ = batch(B=4, S=6)
    outputs, final = rev.encoder(src, lengths)
    finals = final if cell == "lstm" else (final,)
    for b in range(len(src)):
        n = int(lengths[b])
        one, f1 = plain.encoder(src[b:b + 1, :n].flip(1), lengths[b:b + 1])
        # state at x_j in source order; nothing written on padding
        torch.testing.assert_close(outputs[b, :n], one[0].flip(0), rtol=1e-10, atol=1e-10)
        assert torch.count_nonzero(outputs[b, n:]) == 0
        for f, g in zip(finals, f1 if cell == "lstm" else (f1,)):
            torch.testing.assert_close(f[:, b], g[:, 0], rtol=1e-10, atol=1e-10)
    assert not torch.allclose(plain.encoder(src, lengths)[0], outputs)
