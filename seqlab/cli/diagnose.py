"""``seqlab diagnose``: gradient-flow plots and a JSON summary for recurrent models.

Examples::

    seqlab diagnose --cell rnn,lstm,gru,mingru --hidden-size 64 --length 200 --init default
    seqlab diagnose --cell lstm --init default,chrono,seed001 --length 500 --out-dir runs/diag
    seqlab diagnose runs/adding/best.safetensors --out-dir runs/adding/diagnose
    seqlab diagnose runs/gru/best.safetensors runs/lstm/best.safetensors   # overlaid

Fresh models read a seeded N(0, 1) input of ``--batch-size`` sequences of ``--length`` steps;
their loss is the probe ``w . h_T`` (:func:`seqlab.diagnostics.flow.probe_loss`). A checkpoint
is diagnosed on one batch of its task's validation split, with its own loss.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="*", default=[],
                        help="checkpoints of any task, overlaid (or omit them and give --cell)")
    parser.add_argument("--cell", default=None, help="fresh models: comma-separated cells, "
                        "e.g. rnn,lstm,gru,mingru")
    parser.add_argument("--init", default="default", help="comma-separated init names: "
                        "default, chrono, seed001 or a seqlab.nn.init scheme for W_hh "
                        "(orthogonal, xavier_uniform, ...)")
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--num-layers", type=int, default=1)
    parser.add_argument("--input-size", type=int, default=8)
    parser.add_argument("--length", type=int, default=100, help="steps T of the input")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--forget-bias", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tol", type=float, default=1e-3,
                        help="reach: steps over which the norm stays >= tol x its value at T")
    parser.add_argument("--eps", type=float, default=0.05, help="gate saturation threshold")
    parser.add_argument("--no-jacobian", action="store_true",
                        help="skip ||dh_T/dh_t|| (O(T H^3); slow beyond H ~ 300)")
    parser.add_argument("--out-dir", default="runs/diagnose")


def _positive(name: str, value: int) -> None:
    from seqlab.errors import ConfigError

    if value <= 0:
        raise ConfigError(f"--{name} must be > 0, got {value}")


def _from_checkpoint(args, path: str):
    from seqlab.config import RunConfig
    from seqlab.diagnostics.trace import require_recurrent
    from seqlab.errors import ConfigError
    from seqlab.tasks import get_task
    from seqlab.tasks.registry import build_model, config_of
    from seqlab.train.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    model = build_model(ckpt).eval()
    try:
        require_recurrent(model)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    cfg = config_of(ckpt.config)
    small = {k: args.batch_size for k in ("train_size", "valid_size", "test_size")
             if hasattr(cfg.data, k)}
    if small:  # generated tasks: generate only what one batch needs
        cfg = RunConfig.from_dict({"data": {**small, "eval_batch_size": args.batch_size}},
                                  base=cfg)
    data = get_task(ckpt.task).build_data(cfg, ckpt.assets)
    batch = next(iter(data.batches("valid", "eval")))
    from pathlib import Path

    run = Path(path).parent.name if Path(path).is_file() else Path(path).name
    return f"{getattr(cfg.model, 'cell', '?')} ({run})", model, batch


def run(args: argparse.Namespace) -> int:
    import torch

    from seqlab.diagnostics.report import diagnose, fresh_model
    from seqlab.errors import ConfigError

    for name in ("hidden_size", "num_layers", "input_size", "length", "batch_size"):
        _positive(name.replace("_", "-"), getattr(args, name))
    if args.checkpoint and args.cell:
        raise ConfigError("give a checkpoint or --cell, not both")
    if args.checkpoint:
        models, batch = {}, {}
        for path in args.checkpoint:
            label, models[label], batch[label] = _from_checkpoint(args, path)
        title = f"{len(models)} checkpoint(s)"
    elif args.cell:
        cells = [c.strip() for c in args.cell.split(",") if c.strip()]
        inits = [i.strip() for i in args.init.split(",") if i.strip()]
        if not cells or not inits:
            raise ConfigError("--cell and --init must name at least one cell and init")
        models = {}
        for cell in cells:
            for init in inits:
                label = cell if len(inits) == 1 else f"{cell}/{init}"
                models[label] = fresh_model(cell, init, args.input_size, args.hidden_size,
                                            args.num_layers, args.length, args.forget_bias,
                                            args.seed)
        gen = torch.Generator().manual_seed(args.seed)
        batch = torch.randn(args.batch_size, args.length, args.input_size, generator=gen,
                            dtype=torch.float64)
        title = f"H={args.hidden_size}, T={args.length}, init {args.init}"
    else:
        raise ConfigError("diagnose needs a checkpoint or --cell (e.g. --cell rnn,lstm,gru)")
    summary = diagnose(models, batch, args.out_dir, tol=args.tol, eps=args.eps,
                       jacobian=not args.no_jacobian, title=title)
    for label, entry in summary["models"].items():
        for name, layer in entry["layers"].items():
            ratio = layer["first_over_last"]
            shown = f"{ratio:.3g}" if ratio is not None else "-"
            print(f"{label:24s} {name:10s} reach {layer['reach']:5d} / {layer['steps']} steps "
                  f"(tol {args.tol:g}) | ||dL/dh_1|| / ||dL/dh_T|| {shown}")
    print("wrote " + ", ".join(summary["files"]) + f", {args.out_dir}/summary.json")
    return 0
