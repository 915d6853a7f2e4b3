"""Time-series datasets: M4 Hourly, ETT (Informer protocol) and any CSV of a time column plus
value columns.

Files resolve like every registry file (:mod:`seqlab.data.sources`: mirror ``$SEQLAB_DATA``,
cache, download; sha256 of the uncompressed content from the mirror's ``SOURCE.md``). The
text registry's :class:`~seqlab.data.sources.DatasetSpec` carries tokenizer fields, so these
live in a table of their own, :data:`TS_DATASETS`.

* ``m4-hourly``: 414 series (``H1``..``H414``), train lengths 700-960, horizon 48, period 24.
* ``ett``: ETTh1/ETTh2 (hourly) and ETTm1/ETTm2 (15 min); columns ``HUFL .. OT``. Informer
  split: train rows ``[0, 12 months)``, valid ``[12, 16)``, test ``[16, 20)`` months (hourly:
  8640 / 2880 / 2880 rows; x4 for the 15-minute files), z-scored with the train mean/std.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqlab.data.sources import FileSpec, _resolve_file
from seqlab.errors import ConfigError, DataError
from seqlab.io import open_text

__all__ = ["TS_DATASETS", "M4Series", "load_m4_hourly", "load_ett", "read_csv_series",
           "ETTSplit", "parse_times", "regularise", "calendar_features", "FILLS"]

FILLS = ("none", "ffill", "linear")

_M4 = ("https://raw.githubusercontent.com/Mcompetitions/M4-methods/"
       "6c1067e5a57161249b17289a565178dc7a3fb3ca/Dataset")
_ETT = ("https://raw.githubusercontent.com/zhouhaoyi/ETDataset/"
        "1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small")


@dataclass(frozen=True)
class TSDatasetSpec:
    """A time-series registry entry (``folder`` and ``note`` as in ``DatasetSpec``)."""

    name: str
    folder: str
    files: tuple[FileSpec, ...]
    description: str = ""
    license: str = ""
    note: str = ""

    def file(self, name: str) -> FileSpec:
        return next(f for f in self.files if f.name == name)


TS_DATASETS: dict[str, TSDatasetSpec] = {
    "m4-hourly": TSDatasetSpec(
        "m4-hourly", "m4-hourly",
        (FileSpec("Hourly-train.csv", f"{_M4}/Train/Hourly-train.csv",
                  "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f"),
         FileSpec("Hourly-test.csv", f"{_M4}/Test/Hourly-test.csv",
                  "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42")),
        description="M4 competition, Hourly subset: 414 series, horizon 48, period 24",
        license="M4 organizers, research use (Makridakis et al., IJF 2020)"),
    "ett": TSDatasetSpec(
        "ett", "ett",
        (FileSpec("ETTh1.csv", f"{_ETT}/ETTh1.csv",
                  "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066"),
         FileSpec("ETTh2.csv", f"{_ETT}/ETTh2.csv",
                  "a3dc2c597b9218c7ce1cd55eb77b283fd459a1d09d753063f944967dd6b9218b"),
         FileSpec("ETTm1.csv", f"{_ETT}/ETTm1.csv",
                  "6ce1759b1a18e3328421d5d75fadcb316c449fcd7cec32820c8dafda71986c9e"),
         FileSpec("ETTm2.csv", f"{_ETT}/ETTm2.csv",
                  "db973ca252c6410a30d0469b13d696cf919648d0f3fd588c60f03fdbdbadd1fd")),
        description="Electricity Transformer Temperature (Zhou et al., Informer, AAAI 2021)",
        license="CC BY-ND 4.0"),
}


def _path(dataset: str, file: str) -> Path:
    spec = TS_DATASETS[dataset]
    return _resolve_file(spec, spec.file(file), f"dataset {dataset!r} file {file!r}")


@dataclass(frozen=True)
class M4Series:
    """The M4 Hourly set: ``ids``, ragged ``train`` histories, ``test`` (414 x 48)."""

    ids: list[str]
    train: list[np.ndarray]
    test: np.ndarray
    horizon: int = 48
    period: int = 24


def _read_m4(path: Path) -> tuple[list[str], list[np.ndarray]]:
    ids, rows = [], []
    with open_text(path) as handle:
        reader = csv.reader(handle)
        next(reader)  # "V1","V2",...
        for line_no, row in enumerate(reader, start=2):
            cells = [c for c in row[1:] if c != ""]
            try:
                values = np.array(cells, dtype=np.float64)
            except ValueError as exc:
                raise DataError(f"{path}: line {line_no} ({row[0]}) is not numeric: {exc}") from exc
            ids.append(row[0])
            rows.append(values)
    return ids, rows


def load_m4_hourly() -> M4Series:
    """The official M4 Hourly train and test files (checksum-verified)."""
    train_ids, train = _read_m4(_path("m4-hourly", "Hourly-train.csv"))
    test_ids, test = _read_m4(_path("m4-hourly", "Hourly-test.csv"))
    if train_ids != test_ids:
        raise DataError("M4 hourly train and test list different series ids")
    if any(t.size != 48 for t in test):
        raise DataError("M4 hourly test rows must hold 48 values each")
    return M4Series(train_ids, train, np.stack(test))


def read_csv_series(path: str | os.PathLike, time_column: str | None = None,
                    value_columns: list[str] | None = None, missing: str = "error"
                    ) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Read a CSV with a time column and value columns: ``(times, names, values[n, k])``.

    ``time_column`` defaults to the first column; ``value_columns`` to all others. A
    non-numeric value raises a ``DataError`` naming its line and column; so does an empty
    (or NaN/NA/null) one, unless ``missing="keep"``, which returns it as NaN (to be filled
    explicitly, :func:`regularise`).
    """
    if missing not in ("error", "keep"):
        raise ConfigError(f"missing must be 'error' or 'keep', got {missing!r}")
    if not Path(path).exists():
        raise DataError(f"CSV file not found: {path}")
    with open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path}: empty CSV file") from None
        time_column = header[0] if time_column is None else time_column
        if time_column not in header:
            raise ConfigError(f"{path}: no time column {time_column!r}; columns: {header}")
        names = [c for c in header if c != time_column] if value_columns is None else value_columns
        absent = [c for c in names if c not in header]
        if absent or not names:
            raise ConfigError(f"{path}: value columns {absent or names} not found; "
                              f"columns: {header}")
        t_idx, v_idx = header.index(time_column), [header.index(c) for c in names]
        times, values = [], []
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            times.append(row[t_idx])
            out = []
            for name, j in zip(names, v_idx):
                cell = row[j].strip() if j < len(row) else ""
                if cell == "" or cell.lower() in ("nan", "na", "null"):
                    if missing == "keep":
                        out.append(float("nan"))
                        continue
                    raise DataError(f"{path}: missing value at line {line_no}, column {name!r}"
                                    " (pass a fill option to fill it)")
                try:
                    out.append(float(cell))
                except ValueError:
                    raise DataError(f"{path}: non-numeric value {cell!r} at line {line_no}, "
                                    f"column {name!r}") from None
            values.append(out)
    if not values:
        raise DataError(f"{path}: no data rows")
    return np.array(times), names, np.array(values, dtype=np.float64)


@dataclass(frozen=True)
class ETTSplit:
    """One ETT file cut by the Informer protocol; arrays are z-scored with train statistics."""

    names: list[str]
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def load_ett(name: str = "ETTh1", target: str | None = "OT", seq_len: int = 0) -> ETTSplit:
    """ETT ``name`` split 12/4/4 months; ``target="OT"`` univariate, ``None`` all 7 columns.

    ``valid`` and ``test`` start ``seq_len`` rows early (their input windows), as in Informer.
    """
    if name not in ("ETTh1", "ETTh2", "ETTm1", "ETTm2"):
        raise ConfigError(f"unknown ETT file {name!r}; valid: ETTh1, ETTh2, ETTm1, ETTm2")
    _, names, values = read_csv_series(_path("ett", f"{name}.csv"), "date",
                                       None if target is None else [target])
    month = 30 * 24 * (4 if name.startswith("ETTm") else 1)
    a, b, c = 12 * month, 16 * month, 20 * month
    if seq_len < 0 or seq_len > a:
        raise ConfigError(f"seq_len must be in [0, {a}], got {seq_len}")
    train = values[:a]
    mean, std = train.mean(axis=0), train.std(axis=0)
    z = (values - mean) / std
    return ETTSplit(names, z[:a], z[b - (b - a) - seq_len:b], z[c - (c - b) - seq_len:c],
                    mean, std)


def parse_times(times: np.ndarray) -> np.ndarray | None:
    """The time column as ``datetime64[s]`` (date-like text), ``int64`` (integer steps), or
    None when it is neither (then only the row order counts)."""
    text = [str(t).strip() for t in times]
    if all(t.lstrip("-").isdigit() for t in text):
        return np.array([int(t) for t in text], dtype=np.int64)
    if not all(any(c in t for c in "-/:") for t in text):
        return None
    try:
        return np.array([np.datetime64(t.replace(" ", "T"), "s") for t in text])
    except ValueError:
        return None


def regularise(times: np.ndarray | None, values: np.ndarray, fill: str = "none",
               source: str = "series") -> tuple[np.ndarray | None, np.ndarray]:
    """Check (and with ``fill`` repair) a series: regular timestamps, no NaN.

    Timestamps must increase by one step (the smallest difference); a gap is a
    ``DataError`` naming it unless ``fill`` is "ffill" (carry the last value forward) or
    "linear" (interpolate in time), which also fill NaN values; the default "none" never
    fills. Values before the first observation of a column cannot be filled: an error too.
    """
    if fill not in FILLS:
        raise ConfigError(f"fill must be one of {FILLS}, got {fill!r}")
    values = np.asarray(values, dtype=np.float64)
    if times is not None and times.size > 1:
        ticks = times.astype(np.int64)
        diffs = np.diff(ticks)
        if np.any(diffs <= 0):
            i = int(np.flatnonzero(diffs <= 0)[0])
            raise DataError(f"{source}: timestamps must increase; {times[i + 1]} follows "
                            f"{times[i]}")
        step = int(diffs.min())
        if np.any(diffs != step):
            i = int(np.flatnonzero(diffs != step)[0])
            if fill == "none":
                n_missing = int((diffs // step - 1).sum())
                raise DataError(f"{source}: missing timestamps ({n_missing} in all; the first "
                                f"gap after {times[i]}, next {times[i + 1]}): pass a fill "
                                "option (ffill or linear) to fill them")
            if np.any((ticks - ticks[0]) % step):
                raise DataError(f"{source}: timestamps are not on a regular grid of step "
                                f"{step}")
            grid = np.arange(ticks[0], ticks[-1] + step, step)
            full = np.full((grid.size, values.shape[1]), np.nan)
            full[(ticks - ticks[0]) // step] = values
            times, values = grid.astype(times.dtype), full
    bad = np.isnan(values)
    if bad.any():
        if fill == "none":
            row, col = (int(v) for v in np.argwhere(bad)[0])
            raise DataError(f"{source}: missing value at row {row}, column {col} "
                            f"({int(bad.sum())} in all): pass a fill option (ffill or linear)")
        for j in range(values.shape[1]):
            col = values[:, j]
            ok = np.flatnonzero(~np.isnan(col))
            if ok.size == 0 or ok[0] > 0:
                raise DataError(f"{source}: column {j} has no value before row "
                                f"{ok[0] if ok.size else col.size}, which cannot be filled")
            if fill == "ffill":
                idx = np.maximum.accumulate(np.where(np.isnan(col), 0, np.arange(col.size)))
                values[:, j] = col[idx]
            else:
                values[:, j] = np.interp(np.arange(col.size), ok, col[ok])
    return times, values


def calendar_features(times: np.ndarray) -> np.ndarray:
    """Known covariates per timestamp: sin/cos of the hour of day and of the weekday, (n, 4).

    ``phase = hour_fraction / 24`` and ``weekday / 7``; each as ``(sin 2 pi phase,
    cos 2 pi phase)``.
    """
    seconds = times.astype("datetime64[s]").astype(np.int64)
    hour = (seconds % 86400) / 86400.0
    weekday = ((seconds // 86400 + 3) % 7) / 7.0  # 1970-01-01 was a Thursday (weekday 3)
    angles = 2 * np.pi * np.stack([hour, weekday], axis=1)
    return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
