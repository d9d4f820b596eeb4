"""Read IDX files (the MNIST format), raw or gzip-compressed, without trusting the header.

Format (big-endian): two zero bytes, a type byte (0x08 = uint8), a byte with the number of
dimensions, one uint32 per dimension, then the values in C order.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from vaekit.errors import DataError

MAX_PAYLOAD_BYTES = 2**31
_UINT8 = 0x08
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 20


def _read_exact(stream: BinaryIO, num_bytes: int) -> bytearray:
    """Read up to num_bytes in bounded chunks, so a lying header cannot force a huge buffer."""
    buf = bytearray()
    while len(buf) < num_bytes:
        chunk = stream.read(min(_CHUNK_BYTES, num_bytes - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def _parse_header(stream: BinaryIO, path: Path) -> tuple[int, ...]:
    magic = _read_exact(stream, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic {bytes(magic).hex() or 'empty'})")
    if magic[2] != _UINT8:
        raise DataError(f"{path}: unsupported IDX value type 0x{magic[2]:02x} (only uint8, 0x08)")
    ndim = magic[3]
    if not 1 <= ndim <= 4:
        raise DataError(f"{path}: IDX header claims {ndim} dimensions (expected 1 to 4)")
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{path}: IDX header truncated")
    dims = tuple(int.from_bytes(raw_dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    if any(d == 0 for d in dims):
        raise DataError(f"{path}: IDX header has a zero dimension {dims}")
    if math.prod(dims) > MAX_PAYLOAD_BYTES:
        raise DataError(
            f"{path}: IDX header claims {math.prod(dims)} values {dims}, "
            f"more than the {MAX_PAYLOAD_BYTES} allowed"
        )
    return dims


def _read_stream(stream: BinaryIO, path: Path) -> np.ndarray:
    dims = _parse_header(stream, path)
    expected = math.prod(dims)
    payload = _read_exact(stream, expected)
    if len(payload) < expected:
        raise DataError(f"{path}: IDX payload truncated ({len(payload)} of {expected} bytes)")
    if stream.read(1):
        raise DataError(f"{path}: trailing bytes after the {expected}-byte IDX payload")
    return np.frombuffer(payload, dtype=np.uint8).reshape(dims)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file of uint8 values, gzip-compressed or raw (detected from its bytes).

    Returns an array of dtype uint8 with the dimensions the header declares, e.g.
    (N, 28, 28) for images or (N,) for labels. Raises DataError on any malformed, truncated
    or oversized input; never allocates more than the bytes actually present.
    """
    path = Path(path)
    try:
        with path.open("rb") as raw:
            if raw.read(2) != _GZIP_MAGIC:
                raw.seek(0)
                return _read_stream(raw, path)
            raw.seek(0)
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream, path)
    except (EOFError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt or truncated gzip data ({exc})") from exc
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such IDX file") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot read IDX file ({exc})") from exc
