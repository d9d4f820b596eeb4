"""User arrays from .npy (x only) or .npz (x and optional labels) files, never unpickled."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from vaekit.data.config import DataConfig
from vaekit.data.convert import examples_from_arrays, one_line
from vaekit.data.raw import RawExamples
from vaekit.errors import DataError

NPZ_KEY_PAIRS = (("x", "y"), ("images", "labels"), ("data", "targets"))


def read_npy(path: Path, config: DataConfig) -> RawExamples:
    """A .npy array of shape (N, D) or (N, [C,] H, W[, C]); no labels."""
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot load .npy without pickle ({one_line(exc)})") from exc
    return examples_from_arrays(x, None, str(path))


def _npz_arrays(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    with np.load(path, allow_pickle=False) as npz:
        keys = set(npz.files)
        for x_key, y_key in NPZ_KEY_PAIRS:
            if x_key in keys:
                return npz[x_key], (npz[y_key] if y_key in keys else None)
    expected = " or ".join(f"{x}/{y}" for x, y in NPZ_KEY_PAIRS)
    raise DataError(f"{path}: expected keys {expected}, found {sorted(keys)}")


def read_npz(path: Path, config: DataConfig) -> RawExamples:
    """A .npz with examples under x, images or data; optional labels under y, labels or targets."""
    try:
        x, y = _npz_arrays(path)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataError(f"{path}: cannot load .npz without pickle ({one_line(exc)})") from exc
    return examples_from_arrays(x, y, str(path))
