"""load_like: new data read, scaled and binarized exactly as a run's own test data were."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import torch

from vaekit.data.binarize import TEST_BINARIZE_SEED, binarize_once
from vaekit.data.config import DataConfig
from vaekit.data.csvfile import read_csv_table
from vaekit.data.dequantize import dequantize_once
from vaekit.data.imagefolder import read_image_folder
from vaekit.data.load import FILE_READERS
from vaekit.data.raw import RawExamples
from vaekit.data.spec import DataSpec
from vaekit.data.splits import Split
from vaekit.data.standardize import standardize
from vaekit.errors import DataError


def _csv_header(path: Path) -> list[str]:
    """The cells of a CSV file's first line (no header check: read_csv_table does that)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read the CSV header ({exc})") from exc


def _read(path: Path, config: DataConfig, spec: DataSpec) -> RawExamples:
    """Every example of a .npy/.npz/.csv file or an image folder, unsplit, read with the
    run's options (its label column, its --input-shape)."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    reader = read_image_folder if path.is_dir() else FILE_READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported file type; use .npy, .npz, .csv or an image folder")
    label_column = config.label_column if reader is read_csv_table else None
    if label_column is not None and label_column not in _csv_header(path):
        label_column = None  # new data to score need no labels
    return reader(path, dataclasses.replace(config, source=str(path), label_column=label_column))


def read_like(config: DataConfig, spec: DataSpec, path: str | Path) -> Split:
    """The examples of `path` scaled as the run's test split, before any binarization.

    config, spec: the run's DataConfig and DataSpec. Images come out in [0, 1] (grey values,
    also for a binarized run); table rows get the run's test dequantization noise on its
    integer columns (RandomState(0), as load_data gives the test split) and are standardized
    by the run's stored train mean/std. Returns Split(x: (N, *spec.shape) float32, y or None).
    Raises DataError for a missing or unreadable file and for examples of another shape.
    """
    path = Path(path).expanduser()
    examples = _read(path, config, spec)
    shape = tuple(examples.x.shape[1:])
    if examples.kind != spec.kind or shape != spec.shape:
        raise DataError(
            f"{path}: examples are {examples.kind}s of shape {shape}, the run was trained on "
            f"{spec.kind}s of shape {spec.shape}"
            + (" (store images as (N, H, W) or (N, C, H, W))" if examples.kind != spec.kind else "")
        )
    x = examples.x
    if spec.kind == "table":
        columns = spec.dequantized_columns or ()
        x = dequantize_once(x, columns, TEST_BINARIZE_SEED)
        mean, std = np.asarray(spec.feature_mean), np.asarray(spec.feature_std)
        x = standardize(x, mean, std, source=str(path), split="given")
    x_tensor = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    y_tensor = None if examples.y is None else torch.from_numpy(examples.y.astype(np.int64))
    return Split(x_tensor, y_tensor)


def binarize_like(spec: DataSpec, split: Split) -> Split:
    """For a binarized run, grey images binarized once with the test split's fixed seed
    (RandomState(0)); the split unchanged otherwise."""
    if spec.binarize == "none":
        return split
    bits = binarize_once(split.x.numpy(), TEST_BINARIZE_SEED)
    return Split(torch.from_numpy(bits), split.y)


def load_like(config: DataConfig, spec: DataSpec, path: str | Path) -> Split:
    """Examples of `path` as the model saw its test data: read_like, then binarize_like."""
    return binarize_like(spec, read_like(config, spec, path))
