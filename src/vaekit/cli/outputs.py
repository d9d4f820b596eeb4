"""Writing command outputs: PNG grids, NumPy arrays or CSV rows, atomically."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch

from vaekit.data import DataSpec
from vaekit.errors import ConfigError
from vaekit.io import write_with_atomic
from vaekit.reporting import save_image_grid

IMAGE_SUFFIXES = (".png", ".npy")
TABLE_SUFFIXES = (".csv", ".npy")
DEFAULT_SUFFIX = {"image": ".png", "table": ".csv"}


def default_output(stem: str, spec: DataSpec) -> Path:
    """stem + the data kind's default suffix: samples.png for images, samples.csv for tables."""
    return Path(stem + DEFAULT_SUFFIX[spec.kind])


def check_output_kind(path: Path, spec: DataSpec) -> None:
    """ConfigError unless path ends in a suffix the data kind can be written as."""
    suffixes = IMAGE_SUFFIXES if spec.kind == "image" else TABLE_SUFFIXES
    if path.suffix.lower() not in suffixes:
        what = "images" if spec.kind == "image" else "tables"
        raise ConfigError(
            f"{spec.source} holds {what}: write a {' or '.join(suffixes)} file, not {path.name}"
        )


def in_data_units(values: torch.Tensor, spec: DataSpec) -> np.ndarray:
    """values (N, *spec.shape) in model space -> numpy, tables un-standardized to the user's
    column units (x * feature_std + feature_mean) with their integer (dequantized) columns
    rounded back to integers; images stay in [0, 1]."""
    array = values.detach().cpu().numpy()
    if spec.feature_mean is not None and spec.feature_std is not None:
        array = array * np.asarray(spec.feature_std, dtype=array.dtype) + np.asarray(
            spec.feature_mean, dtype=array.dtype
        )
    if spec.dequantized_columns:
        columns = list(spec.dequantized_columns)
        array[:, columns] = np.round(array[:, columns])
    return array


def save_tensor_output(
    values: torch.Tensor, path: Path, spec: DataSpec, *, num_columns: int | None = None
) -> None:
    """values: (N, *spec.shape) in model space -> .png grid (images), .csv rows (tables,
    in column units, under the CSV's header when known) or .npy array (tables in column
    units). ConfigError when the suffix does not fit the data kind."""
    check_output_kind(path, spec)
    if path.suffix.lower() == ".png":
        save_image_grid(values.cpu(), path, num_columns=num_columns)
        return
    array = in_data_units(values, spec)
    if path.suffix.lower() == ".csv":
        write_with_atomic(path, lambda tmp: _save_csv(tmp, array, spec))
        return
    write_with_atomic(path, lambda tmp: _save_npy(tmp, array))


def _save_npy(tmp: Path, array: np.ndarray) -> None:
    with open(tmp, "wb") as handle:
        np.save(handle, array, allow_pickle=False)


def _save_csv(tmp: Path, rows: np.ndarray, spec: DataSpec) -> None:
    """rows (N, D) under spec.feature_names, or column_0..column_{D-1} without them."""
    names = spec.feature_names or tuple(f"column_{i}" for i in range(rows.shape[1]))
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows([f"{value:.7g}" for value in row] for row in rows.astype(np.float64))
