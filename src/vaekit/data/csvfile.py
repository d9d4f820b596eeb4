"""User tables from CSV: a header row, numeric cells, and an optional integer label column."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from vaekit.data.config import DataConfig
from vaekit.data.convert import examples_from_arrays, one_line
from vaekit.data.raw import RawExamples
from vaekit.errors import DataError


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _parse_rows(path: Path, rows: list[list[str]], header: list[str]) -> np.ndarray:
    """Cells of every data row as float64 (N, columns); DataError names a bad row/column."""
    values = np.empty((len(rows), len(header)), dtype=np.float64)
    for i, row in enumerate(rows):
        line = i + 2  # 1-based, after the header
        if len(row) != len(header):
            raise DataError(
                f"{path}: row {line} has {len(row)} cells, the header has {len(header)}"
            )
        try:
            values[i] = [float(cell) for cell in row]
        except ValueError:
            col = next(j for j, cell in enumerate(row) if not _is_number(cell))
            raise DataError(
                f"{path}: row {line}, column {header[col]!r}: non-numeric value {row[col]!r}"
            ) from None
    return values


def _read_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = [row for row in csv.reader(f) if row]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read CSV ({one_line(exc)})") from exc
    if not rows:
        raise DataError(f"{path}: empty CSV file")
    header = [name.strip() for name in rows[0]]
    if all(_is_number(name) for name in header):
        raise DataError(
            f"{path}: the first row {rows[0][:5]} looks like data; a header row is required"
        )
    return header, rows[1:]


def _split_labels(
    path: Path, values: np.ndarray, header: list[str], label_column: str
) -> tuple[np.ndarray, np.ndarray]:
    if label_column not in header:
        raise DataError(f"{path}: no label column {label_column!r}; columns are {header}")
    col = header.index(label_column)
    labels = values[:, col]
    if not np.all(np.isfinite(labels)) or not np.all(labels == np.round(labels)):
        raise DataError(f"{path}: label column {label_column!r} must hold integers")
    return np.delete(values, col, axis=1), labels.astype(np.int64)


def read_csv_table(path: Path, config: DataConfig) -> RawExamples:
    """A CSV table (N, D) of numbers; config.label_column names the integer label column."""
    header, rows = _read_cells(path)
    values = _parse_rows(path, rows, header)
    labels, names = None, list(header)
    if config.label_column is not None:
        values, labels = _split_labels(path, values, header, config.label_column)
        del names[header.index(config.label_column)]
    examples = examples_from_arrays(values, labels, str(path), config.input_shape)
    if examples.kind != "table":
        return examples
    return dataclasses.replace(examples, feature_names=tuple(names))
