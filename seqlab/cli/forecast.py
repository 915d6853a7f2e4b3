"""``seqlab forecast CKPT --file series.csv --horizon H``: forecasts of a trained forecaster.

The CSV holds a time column (default: the first) and value columns; each selected column is a
history to forecast (a multivariate model takes all its channels at once). Output CSV, one row
per series and step: ``series,step,time,forecast`` and, for quantile models, the interval
``lower,upper`` (the outer quantiles). NaN values or missing timestamps are an error unless
``--fill ffill|linear`` fills them (said on stderr).

Examples::

    seqlab forecast runs/m4/best.safetensors --file h1.csv --horizon 48 --out fc.csv
    seqlab forecast runs/ett/best.safetensors --file ett.csv --column OT --horizon 24 \\
        --plot fc.png
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="a forecaster checkpoint (.safetensors or run folder)")
    parser.add_argument("--file", required=True, help="CSV with a time column and value columns")
    parser.add_argument("--horizon", type=int, required=True, help="steps to forecast (> 0)")
    parser.add_argument("--column", action="append", default=None, metavar="NAME",
                        help="value column(s) to forecast (repeatable; default: all)")
    parser.add_argument("--time-column", default="", help="time column (default: the first)")
    parser.add_argument("--fill", choices=("none", "ffill", "linear"), default="none",
                        help="fill NaN values and missing timestamps (default none: an error)")
    parser.add_argument("--out", default="", help="output CSV (default: stdout)")
    parser.add_argument("--plot", default="", metavar="PNG",
                        help="plot of the history, forecast and interval")


def _write(path: str, text: str) -> None:
    if not path:
        sys.stdout.write(text)
        return
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".forecast.")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from seqlab.data.timeseries import parse_times, read_csv_series, regularise
    from seqlab.errors import ConfigError, DataError
    from seqlab.models.forecaster_predict import forecast_history, plot_forecast
    from seqlab.tasks import load

    if args.horizon <= 0:
        raise ConfigError(f"--horizon must be a positive integer, got {args.horizon}")
    if not os.path.exists(args.file):
        raise DataError(f"--file not found: {args.file}")
    model = load(args.checkpoint, task="forecaster")
    raw_times, names, values = read_csv_series(args.file, args.time_column or None,
                                               args.column, missing="keep")
    times = parse_times(raw_times)
    n_before = values.shape[0]
    nan_before = int(np.isnan(values).sum())
    times, values = regularise(times, values, args.fill, source=args.file)
    if args.fill != "none" and (values.shape[0] != n_before or nan_before):
        print(f"seqlab forecast: filled {values.shape[0] - n_before} missing timestamp(s) and "
              f"{nan_before} missing value(s) ({args.fill})", file=sys.stderr)
    if model.channels > 1:
        if values.shape[1] != model.channels:
            raise DataError(f"the model takes {model.channels} columns at once; {args.file} "
                            f"gives {values.shape[1]} ({names})")
        groups = [(",".join(names), values)]
    else:
        groups = [(name, values[:, [j]]) for j, name in enumerate(names)]
    rows, means, lowers, uppers, fc = [], [], [], [], None
    for name, hist in groups:
        if np.ptp(hist[-model.window:], axis=0).max() == 0:
            print(f"seqlab forecast: note: the last {model.window} values of {name} are "
                  "constant", file=sys.stderr)
        fc = forecast_history(model, hist, args.horizon, times)
        means.append(fc.mean)
        lowers.append(fc.lower)
        uppers.append(fc.upper)
        cols = name.split(",")
        for t in range(args.horizon):
            when = "" if fc.times is None else str(fc.times[t]).replace("T", " ")
            for j, col in enumerate(cols):
                row = [col, t + 1, when, f"{fc.mean[t, j]:.6g}"]
                if fc.lower is not None:
                    row += [f"{fc.lower[t, j]:.6g}", f"{fc.upper[t, j]:.6g}"]
                rows.append(row)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["series", "step", "time", "forecast"]
    if fc is not None and fc.lower is not None:
        header += [f"lower_{fc.levels[0]:g}", f"upper_{fc.levels[1]:g}"]
    writer.writerow(header)
    writer.writerows(rows)
    _write(args.out, buf.getvalue())
    if args.plot:
        from seqlab.models.forecaster_predict import Forecast

        stacked = Forecast(np.hstack(means), None if fc.lower is None else np.hstack(lowers),
                           None if fc.upper is None else np.hstack(uppers), fc.levels, fc.times)
        plot_forecast(args.plot, values, stacked, names)
    return 0
