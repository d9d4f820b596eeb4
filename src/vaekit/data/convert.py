"""Turn user arrays into validated RawExamples: layout (N, C, H, W) or (N, D), scale, labels."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vaekit.data.mapped import block_rows
from vaekit.data.raw import RawExamples
from vaekit.errors import DataError

logger = logging.getLogger(__name__)

CHANNEL_COUNTS = (1, 3, 4)
# flat integer arrays narrower than 4x4 are far more likely tables than images
MIN_GUESSED_SIDE = 4
PIXEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.bool_))
# levels and scaling sentence of stored pixels (mapped.MappedExamples scales them the same way)
PIXEL_SCALING = {
    np.dtype(np.uint8): (256, "pixels/255 in [0,1]"),
    np.dtype(np.bool_): (2, "binary pixels {0,1} as stored"),
}
TABLE_SCALING = "columns standardized by train-split mean/std (std 0 -> 1)"
_REASON_CHARS = 200


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, for DataError messages that wrap it."""
    return " ".join(str(exc).split())


def short_reason(exc: BaseException) -> str:
    """one_line(exc), or the exception's type when it has no message, cut to 200 characters."""
    text = one_line(exc) or type(exc).__name__
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS] + "..."


def check_finite(
    x: np.ndarray, source: str, on_read: Callable[[int], None] | None = None
) -> tuple[float, float] | None:
    """(min, max) of a float array, read in blocks of rows; None for other dtypes.

    Raises DataError with the count and first index of NaN/inf values. on_read(num_bytes) is
    called after each block (a memory-mapped file hands back its pages).
    """
    if x.dtype.kind != "f":
        return None
    low, high, bad_count, first = np.inf, -np.inf, 0, None
    step = block_rows(int(np.prod(x.shape[1:])))
    for start in range(0, x.shape[0], step):
        block = x[start : start + step]
        bad = ~np.isfinite(block)
        if bad.any():
            bad_count += int(bad.sum())
            if first is None:
                where = np.argwhere(bad)[0]
                first = (start + int(where[0]), *where[1:].tolist())
        else:
            low, high = min(low, float(block.min())), max(high, float(block.max()))
        if on_read is not None:
            on_read(block.nbytes)
    if first is not None:
        where = tuple(int(i) for i in first)
        raise DataError(f"{source}: {bad_count} non-finite values (NaN/inf), first at {where}")
    return low, high


def check_labels(y: np.ndarray, num: int, source: str) -> np.ndarray:
    """Validate labels as 1-D non-negative integers of length num; return them as int64."""
    if y.dtype.kind not in "iu" or y.ndim != 1 or y.shape[0] != num:
        raise DataError(
            f"{source}: labels must be 1-D integers of length {num}, got {y.dtype} {y.shape}"
        )
    if y.min() < 0:
        raise DataError(f"{source}: labels must be >= 0, found {int(y.min())}")
    return y.astype(np.int64)


def _to_nchw(x: np.ndarray, source: str) -> np.ndarray:
    """(N, H, W) -> (N, 1, H, W); (N, C, H, W) kept; (N, H, W, C) -> (N, C, H, W)."""
    if x.ndim == 3:
        return x[:, None]
    if x.shape[1] in CHANNEL_COUNTS:
        return x
    if x.shape[3] in CHANNEL_COUNTS:
        return x.transpose(0, 3, 1, 2)
    raise DataError(
        f"{source}: cannot tell the channel axis of images shaped {x.shape}; expected "
        f"(N, C, H, W) or (N, H, W, C) with C in {CHANNEL_COUNTS}"
    )


def _image_scaling(
    dtype: np.dtype, value_range: tuple[float, float] | None, source: str
) -> tuple[int | None, str]:
    """(levels, scaling sentence) of images stored as `dtype` whose values span value_range
    (floats only); DataError for dtypes and ranges that are not images."""
    if dtype in PIXEL_SCALING:
        return PIXEL_SCALING[dtype]
    if dtype.kind != "f":
        raise DataError(
            f"{source}: images of dtype {dtype} are not supported; use uint8 or floats in [0,1]"
        )
    low, high = value_range
    if low < 0.0 or high > 1.0:
        raise DataError(
            f"{source}: image values span [{low:g}, {high:g}]; "
            "images must be uint8 or floats in [0,1]"
        )
    return None, "values as stored in [0,1]"


# uint8 images whose first rows hold only 0 and 1 were most likely meant as binary images
BITS_AS_BYTES_ROWS = 1000


def _warn_if_bits_as_bytes(
    x: np.ndarray, source: str, on_read: Callable[[int], None] | None = None
) -> None:
    """Warn when uint8 images (N, C, H, W) hold only 0 and 1 in their first
    BITS_AS_BYTES_ROWS rows (a bounded read, also for a memory-mapped file; on_read as for
    check_finite): they are read as grey levels 0 and 1/255, almost black, not as binary
    images."""
    if x.dtype != np.uint8:
        return
    first = x[:BITS_AS_BYTES_ROWS]
    largest = int(first.max())
    if on_read is not None:
        on_read(first.nbytes)
    if largest <= 1:
        logger.warning(
            "%s: uint8 images whose first %d rows hold only 0 and 1 are read as the grey "
            "levels 0 and 1/255; for binary images save them as bool (or multiply by 255)",
            source,
            min(len(x), BITS_AS_BYTES_ROWS),
        )


def _scale_images(
    x: np.ndarray, source: str, value_range: tuple[float, float] | None
) -> tuple[np.ndarray, int | None, str]:
    """Images to float32 in [0, 1]; returns (x, levels, scaling sentence)."""
    levels, scaling = _image_scaling(x.dtype, value_range, source)
    _warn_if_bits_as_bytes(x, source)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255), levels, scaling
    return x.astype(np.float32), levels, scaling


def _square_side(num_values: int) -> int | None:
    """s when num_values == s * s with s >= MIN_GUESSED_SIDE, else None."""
    side = math.isqrt(num_values)
    return side if side * side == num_values and side >= MIN_GUESSED_SIDE else None


def _guess_layout(
    x: np.ndarray, source: str, value_range: tuple[float, float] | None
) -> np.ndarray:
    """A flat (N, D) uint8/bool array with D = s * s becomes (N, 1, s, s) images, saying so.

    Other arrays stay tables (floats in [0, 1] may be pixels or proportions: a warning
    names --input-shape for the first case).
    """
    side = _square_side(x.shape[1])
    if side is None:
        return x
    if x.dtype in PIXEL_DTYPES:
        logger.warning(
            "%s: flat %s array (%d, %d) read as %d images of 1x%dx%d; "
            "pass --input-shape %d to read it as a table",
            source, x.dtype, x.shape[0], x.shape[1], x.shape[0], side, side, x.shape[1],
        )  # fmt: skip
        return x.reshape(x.shape[0], 1, side, side)
    # floats in [0, 1] of square width may well be pixels: say so where the CLI shows it
    looks_like_pixels = value_range is not None and value_range[0] >= 0.0 and value_range[1] <= 1.0
    logger.log(
        logging.WARNING if looks_like_pixels else logging.INFO,
        "%s: flat %s array (%d, %d) read as a table; if it holds images, "
        "pass --input-shape 1 %d %d",
        source, x.dtype, x.shape[0], x.shape[1], side, side,
    )  # fmt: skip
    return x


def _holds_byte_pixels(value_range: tuple[float, float] | None) -> bool:
    """Floats spanning value_range whose values may be integers 0..255 above 1 (pixels written
    to a CSV): only then can _integral_floats_as_bytes change them."""
    return value_range is not None and value_range[1] > 1.0 and value_range[0] >= 0.0


def _integral_floats_as_bytes(x: np.ndarray, value_range: tuple[float, float] | None) -> np.ndarray:
    """Floats holding only integers 0..255 with some above 1 (pixels written to a CSV) -> uint8;
    anything else unchanged."""
    if not _holds_byte_pixels(value_range):
        return x
    if value_range[1] > 255.0 or not bool(np.all(x == np.round(x))):
        return x
    return x.astype(np.uint8)


def _apply_input_shape(x: np.ndarray, shape: tuple[int, ...], source: str) -> np.ndarray:
    """Reshape each example's values (in (C, H, W) order for images) to `shape`."""
    flat = _to_nchw(x, source) if x.ndim >= 3 else x
    flat = flat.reshape(x.shape[0], -1)
    if flat.shape[1] != math.prod(shape):
        raise DataError(
            f"{source}: --input-shape {' '.join(map(str, shape))} needs {math.prod(shape)} "
            f"values per example, the data have {flat.shape[1]} (shape {x.shape})"
        )
    return flat if len(shape) == 1 else flat.reshape(x.shape[0], *shape)


def examples_from_arrays(
    x: np.ndarray,
    y: np.ndarray | None,
    source: str,
    input_shape: tuple[int, ...] | None = None,
) -> RawExamples:
    """Validate and scale x: (N, D) table, (N, H, W), (N, C, H, W) or (N, H, W, C) images.

    input_shape: (D,) or (C, H, W) forces a table or images (per-example values reshaped in
    (C, H, W) order); None reads flat uint8/bool arrays of square width as (N, 1, s, s)
    images and keeps other flat arrays as tables.
    Tables keep their values (standardized later, from the train split); images become
    float32 (N, C, H, W) in [0, 1]. y: optional (N,) integer labels.
    Raises DataError naming `source` for any shape, dtype, range or label problem.
    """
    labels, value_range = _checked(x, y, source)
    if input_shape is not None:
        x = _apply_input_shape(x, input_shape, source)
        if len(input_shape) > 1:
            x = _integral_floats_as_bytes(x, value_range)
    elif x.ndim == 2:
        x = _guess_layout(x, source, value_range)
    if x.ndim == 2:
        # float64 until standardized, so large column offsets keep their precision
        return RawExamples(
            np.ascontiguousarray(x, np.float64), labels, "table", None, TABLE_SCALING
        )
    images, levels, scaling = _scale_images(_to_nchw(x, source), source, value_range)
    return RawExamples(np.ascontiguousarray(images), labels, "image", levels, scaling)


@dataclass(frozen=True)
class StoredExamples:
    """What examples_from_arrays would make of an array, without converting it.

    values: (N, C, H, W) images or (N, D) table as stored, a view of the array (no copy);
    labels: (N,) int64 or None; kind: "image" | "table"; decoding: how mapped.MappedExamples
    turns stored values into model inputs; levels and scaling as RawExamples has them.
    """

    values: np.ndarray
    labels: np.ndarray | None
    kind: str
    decoding: str
    levels: int | None
    scaling: str


def stored_examples(
    x: np.ndarray,
    y: np.ndarray | None,
    source: str,
    input_shape: tuple[int, ...] | None = None,
    on_read: Callable[[int], None] | None = None,
) -> StoredExamples | None:
    """x read as examples_from_arrays reads it, left as stored: the same layout, checks and
    errors, with float values scanned in blocks of rows (on_read as for check_finite).

    None for layouts that would need a copy of x (Fortran order, channels-last images given
    an input_shape, floats 0..255 that examples_from_arrays turns into bytes).
    """
    if not x.flags.c_contiguous:
        return None
    labels, value_range = _checked(x, y, source, on_read)
    if input_shape is not None:
        as_stored = _to_nchw(x, source) if x.ndim >= 3 else x
        if not as_stored.flags.c_contiguous:
            return None
        if len(input_shape) > 1 and _holds_byte_pixels(value_range):
            return None
        x = _apply_input_shape(x, input_shape, source)
    elif x.ndim == 2:
        x = _guess_layout(x, source, value_range)
    if x.ndim == 2:
        return StoredExamples(x, labels, "table", "table", None, TABLE_SCALING)
    levels, scaling = _image_scaling(x.dtype, value_range, source)
    _warn_if_bits_as_bytes(x, source, on_read)
    decoding = {np.dtype(np.uint8): "pixels", np.dtype(np.bool_): "bool"}.get(x.dtype, "float")
    return StoredExamples(_to_nchw(x, source), labels, "image", decoding, levels, scaling)


def _checked(
    x: np.ndarray,
    y: np.ndarray | None,
    source: str,
    on_read: Callable[[int], None] | None = None,
) -> tuple[np.ndarray | None, tuple[float, float] | None]:
    """Refuse x that is not (N, D) to (N, C, H, W) finite numbers; return the labels checked
    and as int64 (None when y is None) and x's (min, max) for floats (None otherwise)."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{source}: unsupported array dtype {x.dtype}; expected numbers or bools")
    if x.ndim < 2 or x.ndim > 4:
        raise DataError(
            f"{source}: expected (N, D) table or (N, [C,] H, W[, C]) images, got shape {x.shape}"
        )
    if x.shape[0] == 0:
        raise DataError(f"{source}: no examples (shape {x.shape})")
    if x.size == 0:
        raise DataError(f"{source}: examples hold no values (shape {x.shape})")
    value_range = check_finite(x, source, on_read)
    return (None if y is None else check_labels(y, x.shape[0], source)), value_range
