import math

import pytest
import torch

from seqlab.config import TrainConfig
from seqlab.data.batching import LMStream
from seqlab.models.language_model import LanguageModel
from seqlab.tasks import default_config
from seqlab.train.checkpoint import load_checkpoint, save_checkpoint
from seqlab.train.loop import Progress, evaluate, fit
from seqlab.train.optim import LRSchedule, build_optimizer

V = 11


def corpus(n=900, seed=0):
    g = torch.Generator().manual_seed(seed)
    # a learnable stream: mostly "next = current + 1 mod V", with noise
    ids = [0]
    for _ in range(n - 1):
        noise = torch.rand(1, generator=g).item() < 0.2
        ids.append(int(torch.randint(V, (1,), generator=g)) if noise else (ids[-1] + 1) % V)
    return torch.tensor(ids)


def make(cfg: TrainConfig, seed=0):
    torch.manual_seed(seed)
    model = LanguageModel(V, embedding_dim=8, hidden_size=8, num_layers=1, dropout=0.1)
    opt = build_optimizer(model, cfg)
    return model, opt


def quiet(_line):
    pass


@pytest.mark.parametrize("schedule, expected", [
    ("step", [1.0, 1.0, 1.0, 1.0, 0.5, 0.25]),
    ("constant", [1.0] * 6),
])
def test_zaremba_step_decay(schedule, expected):
    cfg = TrainConfig(schedule=schedule, lr=1.0, lr_decay=0.5, decay_start=4, epochs=6)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched = LRSchedule(opt, cfg, steps_per_epoch=10)
    lrs = []
    for epoch in range(1, 7):
        sched.start_epoch(epoch)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == pytest.approx(expected)


def test_cosine_and_plateau():
    cfg = TrainConfig(schedule="cosine", lr=1.0, min_lr=0.1, epochs=2)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched = LRSchedule(opt, cfg, steps_per_epoch=5)
    sched.after_step(5)
    assert sched.lr == pytest.approx(0.55)  # half way: (1 + 0.1) / 2
    sched.after_step(10)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    cfg = TrainConfig(schedule="plateau", lr=1.0, lr_decay=0.5, plateau_patience=1)
    sched = LRSchedule(opt, cfg, steps_per_epoch=5)
    for loss in (3.0, 2.0, 2.5, 2.4):  # two evaluations without improvement -> decay
        sched.end_epoch(loss)
    assert sched.lr == pytest.approx(0.5)


def test_fit_matches_a_hand_written_truncated_bptt_loop():
    cfg = TrainConfig(optimizer="sgd", lr=0.5, clip=1.0, epochs=1, max_steps=6, log_every=100)
    train = LMStream(corpus(), 4, 7)
    valid = LMStream(corpus(200, seed=1), 2, 7)
    model, opt = make(cfg)
    fit(model, train, valid, cfg, optimizer=opt, schedule=LRSchedule(opt, cfg, len(train)),
        log=quiet)
    # oracle: the pytorch/examples recipe, state carried and detached, loss summed / batch
    ref, ref_opt = make(cfg)
    ref.train()
    state = None
    for i, (x, y) in enumerate(train):
        if i == 6:
            break
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, state = ref(x, state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1),
                                                 reduction="sum") / x.shape[0]
        ref_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ref.parameters(), 1.0)
        ref_opt.step()
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_training_lowers_validation_perplexity_and_logs(tmp_path):
    cfg = TrainConfig(optimizer="adam", lr=0.02, epochs=3, log_every=20, clip=5.0,
                      loss_reduction="token")
    train, valid = LMStream(corpus(), 4, 10), LMStream(corpus(300, seed=1), 2, 10)
    model, opt = make(cfg)
    before = evaluate(model, valid).ppl
    lines = []
    progress = fit(model, train, valid, cfg, optimizer=opt,
                   schedule=LRSchedule(opt, cfg, len(train)), log=lines.append,
                   metrics_path=tmp_path / "m.jsonl")
    after = progress.history[-1]["valid_ppl"]
    assert after < before / 2
    assert len(progress.history) == 3
    train_lines = [line for line in lines if line.startswith("| epoch")]
    assert len({len(line) for line in train_lines}) == 1  # fixed width
    assert "tok/s" in train_lines[0] and "ppl" in train_lines[0]
    assert (tmp_path / "m.jsonl").read_text().count('"event": "valid"') == 3


def test_early_stopping_on_validation():
    cfg = TrainConfig(optimizer="sgd", lr=1e-30, epochs=10, patience=2, log_every=100)
    train, valid = LMStream(corpus(), 4, 10), LMStream(corpus(300, seed=1), 2, 10)
    model, opt = make(cfg)
    progress = fit(model, train, valid, cfg, optimizer=opt,
                   schedule=LRSchedule(opt, cfg, len(train)), log=quiet)
    assert progress.stopped.startswith("early stop")
    assert len(progress.history) == 3  # best at 1, no better at 2 and 3


def test_resume_mid_epoch_is_exact(tmp_path):
    """Stop after 7 steps (mid-epoch, state carried), checkpoint, resume in a fresh model."""
    base = dict(optimizer="adam", lr=0.01, epochs=2, log_every=100, clip=1.0, seed=3)
    train, valid = LMStream(corpus(), 4, 10), LMStream(corpus(300, seed=1), 2, 10)
    cfg = TrainConfig(**base)
    model, opt = make(cfg)
    whole = fit(model, train, valid, cfg, optimizer=opt,
                schedule=LRSchedule(opt, cfg, len(train)), log=quiet)

    run = default_config("lm").to_dict()
    part_cfg = TrainConfig(**base, max_steps=7)
    model, opt = make(part_cfg)
    sched = LRSchedule(opt, part_cfg, len(train))
    saved = {}

    def save(progress, state, is_best):
        saved["path"] = save_checkpoint(tmp_path / "last.safetensors", model=model, task="lm",
                                        config=run, assets=model.assets(), optimizer=opt,
                                        schedule=sched.state_dict(),
                                        progress=progress.to_dict(), carry=state)

    part = fit(model, train, valid, part_cfg, optimizer=opt, schedule=sched, save=save, log=quiet)
    assert part.batch == 7 and part.epoch == 1
    torch.manual_seed(999)  # disturb every RNG: the checkpoint must restore them
    ck = load_checkpoint(saved["path"])
    model, opt = make(cfg, seed=42)
    ck.load_weights(model)
    ck.load_optimizer(opt)
    sched = LRSchedule(opt, cfg, len(train))
    sched.load_state_dict(ck.schedule)
    progress = Progress.from_dict(ck.progress)
    assert progress.epoch_seconds > 0
    progress.stopped = ""
    progress.epoch_seconds += 1000.0  # as if the first part had taken 1000 s more
    ck.restore_rng()
    resumed = fit(model, train, valid, cfg, optimizer=opt, schedule=sched, progress=progress,
                  carry=ck.carry(), log=quiet)
    final = [h["valid_loss"] for h in resumed.history]
    assert final == [h["valid_loss"] for h in whole.history]  # bit-exact
    # the resumed epoch's record counts the whole epoch: its time before the stop included
    assert resumed.history[0]["train_tokens"] == whole.history[0]["train_tokens"]
    assert resumed.history[0]["train_seconds"] >= 1000.0
    assert resumed.history[1]["train_seconds"] < 1000.0  # the next epoch starts from zero
    assert math.isfinite(final[-1])


def test_divergence_is_an_error_naming_the_step():
    from seqlab.errors import SeqlabError

    cfg = TrainConfig(optimizer="sgd", lr=1.0, epochs=1, log_every=100, clip=0.0)
    train, valid = LMStream(corpus(), 4, 10), LMStream(corpus(300, seed=1), 2, 10)
    model, opt = make(cfg)
    with torch.no_grad():
        model.decoder.bias.fill_(float("nan"))
    with pytest.raises(SeqlabError, match="training diverged: loss is nan at step 1"):
        fit(model, train, valid, cfg, optimizer=opt, schedule=LRSchedule(opt, cfg, len(train)),
            log=quiet)


# ------------------------------------------------------------ a second, non-LM task model
class ToyClassifier(torch.nn.Module):
    """Does a padded sequence contain token 3? Embedding -> GRU -> last real state -> 2 classes.

    Keeps the task contract without subclassing anything: batches are dicts, no state is
    carried, and the metric sums are correct predictions (accuracy is maximised)."""

    selection = ("accuracy", "max")
    log_metrics = ("accuracy",)
    count_name = "seq"

    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(6, 8)
        self.rnn = torch.nn.GRU(8, 16, batch_first=True)
        self.out = torch.nn.Linear(16, 2)

    def logits(self, batch):
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            self.emb(batch["x"]), batch["lengths"], batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)
        return self.out(h[-1])

    def loss(self, batch, state=None):
        from seqlab.models.base import LossOutput

        logits = self.logits(batch)
        nll = torch.nn.functional.cross_entropy(logits, batch["y"], reduction="sum")
        correct = float((logits.argmax(-1) == batch["y"]).sum())
        n = len(batch["y"])
        return LossOutput(nll, n, n, None, {"correct": correct})

    def evaluate_batch(self, batch, state=None):
        return self.loss(batch, state)

    def metrics(self, totals):
        return {"loss": totals["loss"] / totals["count"],
                "accuracy": totals["correct"] / totals["count"]}


class ToyBatches:
    """Shuffled padded batches, reshuffled per epoch through set_epoch (as a sampler)."""

    def __init__(self, n, seed, batch_size=16):
        g = torch.Generator().manual_seed(seed)
        self.items = []
        for _ in range(n):
            length = int(torch.randint(2, 9, (1,), generator=g))
            x = torch.randint(0, 6, (length,), generator=g)
            self.items.append((x, int((x == 3).any())))
        self.batch_size, self.epoch, self.epochs_seen = batch_size, 0, []

    def set_epoch(self, epoch):
        self.epoch = epoch
        self.epochs_seen.append(epoch)

    def __len__(self):
        return -(-len(self.items) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.items), generator=torch.Generator().manual_seed(
            self.epoch))
        for start in range(0, len(order), self.batch_size):
            chunk = [self.items[i] for i in order[start:start + self.batch_size]]
            lengths = torch.tensor([len(x) for x, _ in chunk])
            x = torch.zeros(len(chunk), int(lengths.max()), dtype=torch.long)
            for row, (seq, _) in enumerate(chunk):
                x[row, :len(seq)] = seq
            yield {"x": x, "lengths": lengths, "y": torch.tensor([y for _, y in chunk])}


def hand_loop(ref, opt, train, epochs, clip, after_step=None, after_epoch=None):
    """Plain PyTorch training of a ToyClassifier: token-mean cross-entropy, clip, step; the
    oracle the engine is compared with. ``after_step(t)`` runs after step t (from 1)."""
    t = 0
    for epoch in range(1, epochs + 1):
        train.set_epoch(epoch)
        for batch in train:
            loss = torch.nn.functional.cross_entropy(ref.logits(batch), batch["y"])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(ref.parameters(), clip)
            opt.step()
            t += 1
            if after_step is not None:
                after_step(t)
        if after_epoch is not None:
            after_epoch(epoch)


def test_fit_trains_a_non_lm_model_and_selects_on_a_maximised_metric():
    cfg = TrainConfig(optimizer="adam", lr=0.02, epochs=6, log_every=1000, clip=1.0,
                      loss_reduction="token", schedule="constant")
    train, valid = ToyBatches(400, 0), ToyBatches(200, 1)
    torch.manual_seed(0)
    model = ToyClassifier()
    opt = build_optimizer(model, cfg)
    saved = []
    lines = []
    progress = fit(model, train, valid, cfg, optimizer=opt,
                   schedule=LRSchedule(opt, cfg, len(train)), log=lines.append,
                   save=lambda p, state, best: saved.append((p.step, best, state)))
    accuracies = [h["valid_accuracy"] for h in progress.history]
    assert accuracies[-1] > 0.9 and train.epochs_seen == [1, 2, 3, 4, 5, 6]
    assert progress.best_valid == max(accuracies)  # maximised, not minimised
    best_flags = [best for _, best, _ in saved]
    running = [a > max(accuracies[:i], default=-1) for i, a in enumerate(accuracies)]
    assert best_flags == running
    assert all(state is None for _, _, state in saved)  # nothing carried
    assert any("valid accuracy" in line for line in lines)
    assert "seq/s" in next(line for line in lines if line.startswith("| epoch"))


def test_fit_equals_a_hand_written_loop_for_the_toy_model():
    cfg = TrainConfig(optimizer="sgd", lr=0.3, epochs=2, log_every=1000, clip=0.5,
                      loss_reduction="token", schedule="constant")
    train, valid = ToyBatches(96, 0), ToyBatches(32, 1)
    torch.manual_seed(0)
    model = ToyClassifier()
    opt = build_optimizer(model, cfg)
    fit(model, train, valid, cfg, optimizer=opt, schedule=LRSchedule(opt, cfg, len(train)),
        log=quiet)
    torch.manual_seed(0)
    ref = ToyClassifier()
    hand_loop(ref, torch.optim.SGD(ref.parameters(), lr=0.3), train, epochs=2, clip=0.5)
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_an_unknown_selection_metric_is_named():
    cfg = TrainConfig(optimizer="adam", lr=0.01, epochs=1, log_every=1000, metric="f1")
    train, valid = ToyBatches(32, 0), ToyBatches(16, 1)
    model = ToyClassifier()
    opt = build_optimizer(model, cfg)
    from seqlab.errors import SeqlabError

    with pytest.raises(SeqlabError, match=r"train.metric='f1' is not a figure of this model; "
                                          r"it reports \['accuracy', 'loss'\]"):
        fit(model, train, valid, cfg, optimizer=opt, schedule=LRSchedule(opt, cfg, len(train)),
            log=quiet)


def test_progress_bar_in_a_terminal_and_plain_lines_elsewhere():
    import io

    from seqlab.train.progress import Reporter

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    lines, term = [], Terminal()
    bar = Reporter(lines.append, "auto", stream=term, mininterval=0)
    bar.start_epoch(1, 10, 0)
    for _ in range(10):
        bar.step(1.5, 1000.0)
    bar.train_line("| epoch 1 | ... |")
    bar.line("| eval |")
    bar.close()
    shown = term.getvalue()
    assert bar.enabled and "10/10" in shown and "epoch 1" in shown and "loss 1.500" in shown
    assert lines == ["| eval |"]  # the bar replaces the periodic lines, events still logged
    lines, pipe = [], io.StringIO()
    plain = Reporter(lines.append, "auto", stream=pipe)
    plain.start_epoch(1, 10, 0)
    plain.step(1.5, 1000.0)
    plain.train_line("| epoch 1 | ... |")
    plain.line("| eval |")
    assert not plain.enabled and pipe.getvalue() == ""
    assert lines == ["| epoch 1 | ... |", "| eval |"]


@pytest.mark.parametrize("flush", [True, False])
def test_denormals_are_flushed_while_fitting_on_cpu_and_the_mode_restored(flush):
    from seqlab.train.loop import denormals_flushed

    assert not denormals_flushed()
    tiny = torch.tensor([1e-39])  # a float32 denormal
    assert tiny.item() > 0 and (tiny * 1.0).item() > 0
    cfg = TrainConfig(optimizer="sgd", lr=0.3, epochs=1, log_every=1000, schedule="constant",
                      loss_reduction="token", flush_denormal=flush)
    train, valid = ToyBatches(32, 0), ToyBatches(16, 1)
    model = ToyClassifier()
    opt = build_optimizer(model, cfg)
    seen = []
    fit(model, train, valid, cfg, optimizer=opt, schedule=LRSchedule(opt, cfg, len(train)),
        log=quiet, grad_hook=lambda step, m: seen.append((tiny * 1.0).item() == 0.0))
    assert seen and all(s == flush for s in seen)  # denormal arithmetic gave 0 only if flushed
    assert not denormals_flushed()  # the caller's mode is back
