"""User arrays <-> coder symbols, keeping dtype and shape so the round trip is bit-exact.

A Bernoulli model codes 0/1 values; a 256-level model codes levels 0..255, given as integers
or as the floats k/255 vaekit's loaders produce. Whatever the input, compressing checks that
turning the symbols back into the input's dtype reproduces it byte for byte, so nothing that
cannot be restored exactly is ever accepted.
"""

from __future__ import annotations

import math

import numpy as np

from vaekit.errors import DataError


def example_forms(input_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The trailing shapes an example may take: the model's input shape, (H, W) for a
    one-channel image model, or flat (D,)."""
    forms = [tuple(input_shape), (math.prod(input_shape),)]
    if len(input_shape) == 3 and input_shape[0] == 1:
        forms.append(tuple(input_shape[1:]))
    return forms


def example_count(shape: tuple[int, ...], input_shape: tuple[int, ...]) -> int:
    """How many examples an array of `shape` holds: its leading dims, when its trailing dims
    are one of example_forms (so 28x28 images are never cut into 8x8 tiles for an 8x8
    model, although their sizes divide)."""
    shape = tuple(int(s) for s in shape)
    for form in example_forms(tuple(input_shape)):
        if len(shape) >= len(form) and shape[len(shape) - len(form) :] == form:
            count = math.prod(shape[: len(shape) - len(form)])
            if count == 0:
                raise DataError(f"an array of shape {shape} holds no examples")
            return count
    forms = " or ".join(f"(N, {', '.join(map(str, form))})" for form in example_forms(input_shape))
    raise DataError(
        f"an array of shape {shape} does not hold examples of the model's input shape "
        f"{tuple(input_shape)}: give {forms}"
    )


def restore(
    symbols: np.ndarray, levels: int, dtype: np.dtype, shape: tuple[int, ...]
) -> np.ndarray:
    """Symbols (N, D) -> the user's array: levels as stored values of `dtype`, in `shape`."""
    if dtype == np.bool_:
        values = symbols.astype(np.bool_)
    elif np.issubdtype(dtype, np.floating):
        values = symbols.astype(dtype) / dtype.type(levels - 1)
    else:
        values = symbols.astype(dtype)
    return values.astype(dtype, copy=False).reshape(shape)  # keeps a non-native byte order


def to_symbols(array: np.ndarray, levels: int, input_shape: tuple[int, ...]) -> np.ndarray:
    """The user's array -> symbols (N, D) int32 in 0..levels-1; DataError if not exact.

    Accepted: bool, unsigned/signed integers holding 0..levels-1, and floats holding
    k/(levels-1) exactly as that dtype computes it (0.0/1.0 for binary data).
    """
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(f"cannot compress an array of dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise DataError(f"cannot compress an array of dtype {array.dtype}")
    count = example_count(array.shape, input_shape)
    flat = array.reshape(count, -1)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(flat).all():
            raise DataError("cannot compress NaN or infinite values")
        scaled = np.rint(flat.astype(np.float64) * (levels - 1))
    else:
        scaled = flat.astype(np.int64)
    if scaled.min() < 0 or scaled.max() > levels - 1:
        what = "0/1" if levels == 2 else f"levels 0..{levels - 1}"
        raise DataError(f"this model codes {what}; the data hold values outside that range")
    symbols = scaled.astype(np.int32)
    back = restore(symbols, levels, array.dtype, array.shape)
    if back.tobytes() != np.ascontiguousarray(array).tobytes():
        what = "0 and 1" if levels == 2 else f"k/{levels - 1} values or integers 0..{levels - 1}"
        raise DataError(f"this model codes {what} exactly; the data hold other values")
    return symbols
