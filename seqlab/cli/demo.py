"""``seqlab demo``: a short showcase (replaced by the character-LM demo when that lands)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=200, help="training steps (default 200)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    import torch

    torch.manual_seed(args.seed)
    # Task: output at step t is the input token of step t-3 (needs memory across steps).
    vocab, delay, batch, length = 8, 3, 32, 20
    emb = torch.nn.Embedding(vocab, 32)
    lstm = torch.nn.LSTM(32, 64, batch_first=True)
    head = torch.nn.Linear(64, vocab)
    params = [*emb.parameters(), *lstm.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=1e-2)
    for step in range(1, args.steps + 1):
        x = torch.randint(vocab, (batch, length))
        y = torch.roll(x, delay, dims=1)
        out, _ = lstm(emb(x))
        logits = head(out)[:, delay:]
        targets = y[:, delay:].reshape(-1)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 20 == 0 or step == 1:
            print(f"| step {step:4d} | loss {loss.item():.4f} |", flush=True)
    return 0
