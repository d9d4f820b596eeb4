"""User arrays from .npy (x only) or .npz (x and optional labels) files, never unpickled."""

from __future__ import annotations

import dataclasses
import lzma
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from vaekit.data.config import DataConfig
from vaekit.data.convert import examples_from_arrays, short_reason
from vaekit.data.npyformat import (
    MAX_ARRAY_BYTES,
    NPY_MAGIC,
    ZIP_MAGIC,
    read_npy_stream,
)
from vaekit.data.raw import RawExamples
from vaekit.errors import DataError

# examples under the first of these keys, labels under the first label key present, in any
# pairing (`data` with `labels` is as common as `x` with `y`); `mean` reads the posterior
# means `vaekit encode` writes, so latents are data for a second model (M1+M2)
NPZ_X_KEYS = ("x", "images", "data", "mean")
NPZ_LABEL_KEYS = ("y", "labels", "targets")
# optional: the train/val/test split each example belongs to (0, 1, 2), which then replaces
# the random split (written by `vaekit encode --split all`, for M1+M2 stacking)
NPZ_SPLIT_KEY = "split"
# what zipfile and its decompressors raise on corrupt archives (encrypted and unsupported
# compression flags surface as RuntimeError and NotImplementedError)
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    struct.error,
    EOFError,
    ValueError,
    OSError,
    RuntimeError,
    NotImplementedError,
    OverflowError,
    MemoryError,
)


def _magic(path: Path) -> bytes:
    """The first bytes of path, enough to tell a .npy array from a zip archive."""
    try:
        with path.open("rb") as f:
            return f.read(len(NPY_MAGIC))
    except OSError as exc:
        raise DataError(f"{path}: cannot read file ({short_reason(exc)})") from exc


def read_npy(path: Path, config: DataConfig) -> RawExamples:
    """A .npy array of shape (N, D) or (N, [C,] H, W[, C]); no labels."""
    if _magic(path).startswith(ZIP_MAGIC):
        raise DataError(f"{path}: is an .npz archive (zip), not a .npy array; rename it to .npz")
    try:
        with path.open("rb") as f:
            x = read_npy_stream(f, path.stat().st_size, str(path))
    except (OSError, MemoryError) as exc:
        raise DataError(f"{path}: cannot read .npy file ({short_reason(exc)})") from exc
    return examples_from_arrays(x, None, str(path), config.input_shape)


def read_member(archive: zipfile.ZipFile, path: Path, key: str) -> np.ndarray:
    """The array stored as member `key`.npy, size-checked before it is decompressed."""
    info = archive.getinfo(f"{key}.npy")
    source = f"{path} (member {info.filename})"
    if info.file_size > MAX_ARRAY_BYTES:
        raise DataError(
            f"{source}: declares {info.file_size} uncompressed bytes, "
            f"more than the {MAX_ARRAY_BYTES} allowed"
        )
    with archive.open(info) as member:
        return read_npy_stream(member, info.file_size, source)


def _npz_arrays(path: Path) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(x, y or None, split or None): x from the first of NPZ_X_KEYS present, y from the
    first of NPZ_LABEL_KEYS present, split from NPZ_SPLIT_KEY (None when absent)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        keys = {name[: -len(".npy")] for name in names if name.endswith(".npy")}
        x_key = next((key for key in NPZ_X_KEYS if key in keys), None)
        if x_key is not None:
            y_key = next((key for key in NPZ_LABEL_KEYS if key in keys), None)
            x = read_member(archive, path, x_key)
            y = None if y_key is None else read_member(archive, path, y_key)
            split = read_member(archive, path, NPZ_SPLIT_KEY) if NPZ_SPLIT_KEY in keys else None
            return x, y, split
    raise DataError(
        f"{path}: expected examples under key {' or '.join(NPZ_X_KEYS)} (labels, optional, "
        f"under {' or '.join(NPZ_LABEL_KEYS)}), found {sorted(names)[:10]}"
    )


def read_npz(path: Path, config: DataConfig) -> RawExamples:
    """A .npz with examples under x, images, data or mean; optional labels under y, labels or
    targets (any pairing); an optional `split` member (0 train, 1 val, 2 test per example) fixes
    the split."""
    if _magic(path).startswith(NPY_MAGIC):
        raise DataError(f"{path}: is a .npy array, not an .npz archive; rename it to .npy")
    try:
        x, y, split = _npz_arrays(path)
    except ZIP_ERRORS as exc:
        raise DataError(f"{path}: cannot read .npz archive ({short_reason(exc)})") from exc
    return with_split(examples_from_arrays(x, y, str(path), config.input_shape), split, path)


def with_split(examples: RawExamples, split: np.ndarray | None, path: Path) -> RawExamples:
    """examples with the .npz member `split` (N,) attached (unchanged when None); DataError
    unless it holds one integer per example."""
    if split is None:
        return examples
    if split.dtype.kind not in "iu" or split.shape != examples.x.shape[:1]:
        raise DataError(
            f"{path}: member split must hold one integer per example (0 train, 1 val, 2 test), "
            f"got {split.dtype} {split.shape}"
        )
    return dataclasses.replace(examples, split=split.astype(np.int64))
