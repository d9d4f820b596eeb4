"""Read one .npy array from a stream without trusting its header and without unpickling.

The header is parsed and checked (dtype, shape, and the bytes it implies against the bytes
actually there) before any buffer is allocated, so a header claiming 16 GiB fails fast.
Format: numpy.lib.format (NEP 1), versions 1.0 and 2.0.
"""

from __future__ import annotations

import math
import reprlib
import tokenize
import warnings
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from vaekit.data.convert import short_reason
from vaekit.errors import DataError

MAX_ARRAY_BYTES = 8 << 30  # 8 GiB: the most one array (or .npz member) may hold
MAX_DIMS = 32
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
SUPPORTED_KINDS = "biufc"  # bool, ints, floats, complex (refused later with a clearer message)
_CHUNK_BYTES = 1 << 20
# what numpy's header parser raises on malformed headers (literal_eval, tokenize, dtype())
HEADER_ERRORS = (
    ValueError,
    TypeError,
    LookupError,
    OverflowError,
    SyntaxError,
    RecursionError,
    MemoryError,
    EOFError,
    tokenize.TokenError,
)


def _parse_header(stream: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """numpy's (shape, fortran_order, dtype); raises one of HEADER_ERRORS when malformed."""
    readers = {
        (1, 0): npy_format.read_array_header_1_0,
        (2, 0): npy_format.read_array_header_2_0,
    }
    version = npy_format.read_magic(stream)
    if version not in readers:
        raise ValueError(f"unsupported .npy format version {version}")
    return readers[version](stream)


def _read_header(stream: BinaryIO, source: str) -> tuple[np.dtype, tuple[int, ...], bool]:
    """(dtype, shape, fortran_order) from the magic string and header dict."""
    try:
        with warnings.catch_warnings():
            # literal_eval of a corrupt header may warn about odd escapes; the DataError is enough
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", SyntaxWarning)
            shape, fortran_order, dtype = _parse_header(stream)
    except HEADER_ERRORS as exc:
        raise DataError(f"{source}: not a valid .npy array ({short_reason(exc)})") from exc
    return dtype, shape, fortran_order


def _check_layout(
    dtype: np.dtype, shape: tuple[int, ...], source: str, max_bytes: int = MAX_ARRAY_BYTES
) -> int:
    """Refuse object and non-numeric dtypes and impossible shapes; return the payload bytes."""
    if dtype.hasobject:
        raise DataError(f"{source}: holds Python objects ({dtype}); refusing to unpickle them")
    if dtype.kind not in SUPPORTED_KINDS or dtype.itemsize == 0:
        raise DataError(f"{source}: unsupported array dtype {dtype}; expected numbers or bools")
    if len(shape) > MAX_DIMS or any(d < 0 for d in shape):
        raise DataError(
            f"{source}: the .npy header declares an impossible shape {reprlib.repr(shape)}"
        )
    # zeros ignored: numpy refuses (0, 2**31, 2**31) of float64 too
    if math.prod(max(d, 1) for d in shape) * dtype.itemsize > max_bytes:
        raise DataError(
            f"{source}: the .npy header declares shape {reprlib.repr(shape)} of {dtype}, "
            f"more than the {max_bytes} bytes allowed"
        )
    return math.prod(shape) * dtype.itemsize


def _read_payload(stream: BinaryIO, num_bytes: int, source: str) -> bytearray:
    """Exactly num_bytes from stream, read in bounded chunks into one buffer."""
    try:
        buf = bytearray(num_bytes)
    except MemoryError as exc:
        raise DataError(f"{source}: not enough memory for {num_bytes} bytes of array data") from exc
    view = memoryview(buf)
    done = 0
    while done < num_bytes:
        got = stream.readinto(view[done : done + _CHUNK_BYTES])
        if not got:
            raise DataError(f"{source}: array data truncated ({done} of {num_bytes} bytes)")
        done += got
    return buf


def npy_layout(
    stream: BinaryIO, stream_bytes: int, source: str, max_bytes: int = MAX_ARRAY_BYTES
) -> tuple[np.dtype, tuple[int, ...], bool, int]:
    """(dtype, shape, fortran_order, header_bytes) of the array stored in `stream`, which holds
    exactly stream_bytes from its position on; leaves the stream at the start of the data.

    header_bytes: where the data start, counted from the stream's position on entry. Raises
    DataError naming `source` for a malformed header, an object or non-numeric dtype, more
    than max_bytes of data, or a data size that does not match the header.
    """
    start = stream.tell()
    dtype, shape, fortran_order = _read_header(stream, source)
    num_bytes = _check_layout(dtype, shape, source, max_bytes)
    header_bytes = stream.tell() - start
    data_bytes = stream_bytes - header_bytes
    if data_bytes != num_bytes:
        raise DataError(
            f"{source}: the .npy header declares shape {shape} of {dtype} ({num_bytes} bytes) "
            f"but {max(data_bytes, 0)} bytes of data follow"
        )
    return dtype, shape, fortran_order, header_bytes


def read_npy_stream(stream: BinaryIO, stream_bytes: int, source: str) -> np.ndarray:
    """The array stored in `stream`, which holds exactly stream_bytes from its position on.

    Returns a writable array of the declared dtype and shape. Raises DataError naming
    `source` for a malformed header, an object or non-numeric dtype, or a data size that
    does not match the header; never allocates more than the bytes actually present.
    """
    dtype, shape, fortran_order, _ = npy_layout(stream, stream_bytes, source)
    num_bytes = math.prod(shape) * dtype.itemsize
    values = np.frombuffer(_read_payload(stream, num_bytes, source), dtype=dtype)
    if fortran_order:
        return values.reshape(shape[::-1]).transpose()
    return values.reshape(shape)
