"""Turn user arrays into validated RawExamples: layout (N, C, H, W) or (N, D), scale, labels."""

from __future__ import annotations

import logging
import math

import numpy as np

from vaekit.data.raw import RawExamples
from vaekit.errors import DataError

logger = logging.getLogger(__name__)

CHANNEL_COUNTS = (1, 3, 4)
# flat integer arrays narrower than 4x4 are far more likely tables than images
MIN_GUESSED_SIDE = 4
PIXEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.bool_))
# levels and scaling sentence of stored pixels (mapped.MappedImages scales them the same way)
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


def check_finite(x: np.ndarray, source: str) -> None:
    """Raise DataError with the count and first index of NaN/inf values in a float array."""
    if x.dtype.kind != "f":
        return
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{source}: {int(bad.sum())} non-finite values (NaN/inf), first at {first}")


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


def _scale_images(x: np.ndarray, source: str) -> tuple[np.ndarray, int | None, str]:
    """Images to float32 in [0, 1]; returns (x, levels, scaling sentence)."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255), *PIXEL_SCALING[x.dtype]
    if x.dtype == np.bool_:
        return x.astype(np.float32), *PIXEL_SCALING[x.dtype]
    if x.dtype.kind != "f":
        raise DataError(
            f"{source}: images of dtype {x.dtype} are not supported; use uint8 or floats in [0,1]"
        )
    low, high = float(x.min()), float(x.max())
    if low < 0.0 or high > 1.0:
        raise DataError(
            f"{source}: image values span [{low:g}, {high:g}]; "
            "images must be uint8 or floats in [0,1]"
        )
    return x.astype(np.float32), None, "values as stored in [0,1]"


def _square_side(num_values: int) -> int | None:
    """s when num_values == s * s with s >= MIN_GUESSED_SIDE, else None."""
    side = math.isqrt(num_values)
    return side if side * side == num_values and side >= MIN_GUESSED_SIDE else None


def _guess_layout(x: np.ndarray, source: str) -> np.ndarray:
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
    looks_like_pixels = x.dtype.kind == "f" and float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    logger.log(
        logging.WARNING if looks_like_pixels else logging.INFO,
        "%s: flat %s array (%d, %d) read as a table; if it holds images, "
        "pass --input-shape 1 %d %d",
        source, x.dtype, x.shape[0], x.shape[1], side, side,
    )  # fmt: skip
    return x


def _integral_floats_as_bytes(x: np.ndarray) -> np.ndarray:
    """Floats holding only integers 0..255 with some above 1 (pixels written to a CSV) -> uint8;
    anything else unchanged."""
    if x.dtype.kind != "f" or float(x.max()) <= 1.0 or float(x.min()) < 0.0:
        return x
    if float(x.max()) > 255.0 or not bool(np.all(x == np.round(x))):
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
    if len(shape) == 1:
        return flat
    return _integral_floats_as_bytes(flat).reshape(x.shape[0], *shape)


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
    labels = _checked(x, y, source)
    if input_shape is not None:
        x = _apply_input_shape(x, input_shape, source)
    elif x.ndim == 2:
        x = _guess_layout(x, source)
    if x.ndim == 2:
        # float64 until standardized, so large column offsets keep their precision
        return RawExamples(
            np.ascontiguousarray(x, np.float64), labels, "table", None, TABLE_SCALING
        )
    images, levels, scaling = _scale_images(_to_nchw(x, source), source)
    return RawExamples(np.ascontiguousarray(images), labels, "image", levels, scaling)


def stored_pixels(
    x: np.ndarray,
    y: np.ndarray | None,
    source: str,
    input_shape: tuple[int, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(pixels, labels) when examples_from_arrays would read x as uint8 or bool images:
    pixels (N, C, H, W) as stored, a view of x (no copy); labels (N,) int64 or None.

    None for every other x (tables, float images) and for layouts that would need a copy of
    x (channels-last data given an input_shape, Fortran order). Raises as
    examples_from_arrays does for malformed arrays and labels.
    """
    if x.dtype not in PIXEL_DTYPES or not x.flags.c_contiguous:
        return None
    labels = _checked(x, y, source)
    if input_shape is not None:
        as_stored = _to_nchw(x, source) if x.ndim >= 3 else x
        if len(input_shape) == 1 or not as_stored.flags.c_contiguous:
            return None
        x = _apply_input_shape(x, input_shape, source)
    elif x.ndim == 2:
        x = _guess_layout(x, source)
    return None if x.ndim == 2 else (_to_nchw(x, source), labels)


def _checked(x: np.ndarray, y: np.ndarray | None, source: str) -> np.ndarray | None:
    """Refuse x that is not (N, D) to (N, C, H, W) numbers holding values; return the labels
    checked and as int64 (None when y is None)."""
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
    check_finite(x, source)
    return None if y is None else check_labels(y, x.shape[0], source)
