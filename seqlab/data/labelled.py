r"""Labelled text files: TSV, CSV, JSON lines and the ``<label> <sentence>`` lines of SST.

:func:`read_labelled` returns the texts, the label values (strings; JSON lists stay lists, for
multi-label sets) and each row's 1-based line number, so later errors can name the line. A
column is named by its header, or by a digit for files without a header (both columns
digits: no header row). A missing column is an error naming it and the columns there are.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.tsv"
    >>> _ = path.write_text("text\tlabel\ngood film\tpos\nbad\tneg\n")
    >>> read_labelled(path)
    (['good film', 'bad'], ['pos', 'neg'], [2, 3])
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from seqlab.errors import DataError

__all__ = ["FORMATS", "read_labelled"]

FORMATS = ("auto", "tsv", "csv", "jsonl", "stsa")


def _format_of(path: Path, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    name = path.name.removesuffix(".gz").lower()
    for ext, kind in ((".tsv", "tsv"), (".csv", "csv"), (".jsonl", "jsonl"), (".json", "jsonl")):
        if name.endswith(ext):
            return kind
    raise DataError(f"cannot tell the format of {path} from its name: set data.format to one "
                    f"of {FORMATS[1:]}")


def _column(header: list[str], name: str, path: Path, what: str) -> int:
    if name.isdigit() and name not in header:
        return int(name)
    if name not in header:
        raise DataError(f"{path}: no {what} column {name!r} (columns: {header}); set "
                        f"--{what}-column")
    return header.index(name)


def read_labelled(path: str | Path, fmt: str = "auto", text_column: str = "text",
                  label_column: str = "label") -> tuple[list[str], list[str], list[int]]:
    """Texts, label strings and 1-based line numbers of a labelled file."""
    from seqlab.data.sources import open_text

    path = Path(path)
    if not path.is_file():
        raise DataError(f"labelled file not found: {path}")
    kind = _format_of(path, fmt)
    texts, labels, lines = [], [], []
    with open_text(path) as fh:
        if kind == "stsa":  # "<label> <sentence>" per line
            for i, line in enumerate(fh, 1):
                label, _, text = line.rstrip("\r\n").partition(" ")
                texts.append(text), labels.append(label), lines.append(i)
        elif kind == "jsonl":
            for i, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{i}: not JSON ({exc.msg})") from None
                for what, name in (("text", text_column), ("label", label_column)):
                    if not isinstance(row, dict) or name not in row:
                        keys = sorted(row) if isinstance(row, dict) else type(row).__name__
                        raise DataError(f"{path}:{i}: no {what} column {name!r} (keys: {keys});"
                                        f" set --{what}-column")
                label = row[label_column]
                texts.append(str(row[text_column]))
                labels.append(label if isinstance(label, list) else str(label))
                lines.append(i)
        else:
            reader = (csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if kind == "tsv"
                      else csv.reader(fh))
            rows = list(reader)
            has_header = not (text_column.isdigit() and label_column.isdigit())
            header = rows[0] if rows and has_header else []
            t = _column(header, text_column, path, "text")
            y = _column(header, label_column, path, "label")
            for i, row in enumerate(rows[1 if has_header else 0:], 2 if has_header else 1):
                if not row:
                    continue
                if max(t, y) >= len(row):
                    raise DataError(f"{path}:{i}: {len(row)} columns, expected at least "
                                    f"{max(t, y) + 1}")
                texts.append(row[t]), labels.append(row[y]), lines.append(i)
    if not texts:
        raise DataError(f"{path}: no labelled rows")
    return texts, labels, lines
