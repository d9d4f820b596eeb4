"""Decoded IDX files kept in the user cache, so a second run does not inflate them again.

A gzipped IDX file ends with the CRC-32 and the length of its decompressed bytes (the gzip
trailer). The cache keeps exactly those bytes, under a name made of the source's file name,
size and the SHA-256 of the whole source file (so a source changed or damaged anywhere gets
another name, and is decoded, and its errors reported, as if there were no cache), and a
cached copy is used only when its own CRC-32 and length match the source's trailer: a
damaged or truncated copy is detected, logged and rebuilt, never trusted. The copy is
parsed by the same IDX reader as the source, with the same checks. Inflating
Fashion-MNIST's training images takes about 0.4 s; hashing the source and reading and
checking the cached copy about 0.1 s.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import zlib
from pathlib import Path

import numpy as np

from vaekit.data.idx import _GZIP_MAGIC, _read_stream, read_idx

logger = logging.getLogger(__name__)


def cache_key(path: Path) -> tuple[str, int, int] | None:
    """(entry name, CRC-32 and length mod 2**32 of the decompressed bytes from the gzip
    trailer) for a gzipped file; None for any other file."""
    source = path.read_bytes()
    if source[:2] != _GZIP_MAGIC or len(source) < 18:  # header 10 + trailer 8 bytes
        return None
    crc, length = int.from_bytes(source[-8:-4], "little"), int.from_bytes(source[-4:], "little")
    # not the CRC-32 of the file: a gzip holding stored (incompressible) blocks ends with the
    # CRC of those same bytes, and CRC-32(data + CRC-32(data)) is one constant for any data
    digest = hashlib.sha256(source).hexdigest()[:32]
    return f"{path.name}-{len(source)}-{digest}.idx", crc, length


def idx_bytes(values: np.ndarray) -> bytes:
    """The IDX file of a uint8 array: header (zero, zero, 0x08, ndim, dims) and values."""
    header = bytes([0, 0, 0x08, values.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in values.shape
    )
    return header + values.tobytes()


def read_idx_cached(path: str | Path, cache_dir: Path | None) -> np.ndarray:
    """read_idx(path), through a checked decoded copy in cache_dir for a gzipped file.

    cache_dir None, a raw (not gzipped) file or a cache that cannot be written: the file is
    read directly. Errors about the source are read_idx's (DataError)."""
    path = Path(path)
    key = None if cache_dir is None else _key_or_none(path)
    if key is None:
        return read_idx(path)
    name, crc, length = key
    entry = cache_dir / name
    if entry.is_file():
        data = entry.read_bytes()
        if zlib.crc32(data) == crc and len(data) % 2**32 == length:
            return _read_stream(io.BytesIO(data), entry)
        logger.warning("%s does not match %s; decoding the source again", entry, path.name)
    values = read_idx(path)
    data = idx_bytes(values)
    if zlib.crc32(data) == crc:  # a multi-member gzip's trailer covers its last member only
        try:
            _write_entry(entry, data)
        except OSError as err:
            logger.debug("not caching %s: %s", path, err)
    return values


def _key_or_none(path: Path) -> tuple[str, int, int] | None:
    try:
        return cache_key(path)
    except OSError:
        return None  # read_idx reports the problem with the source


def _write_entry(entry: Path, data: bytes) -> None:
    """Write a temporary file beside `entry`, then rename it into place: a reader sees the
    old entry or the whole new one. No fsync: a copy that a crash leaves short or empty
    fails its CRC check on the next read and is rebuilt."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.name}.", suffix=".tmp", dir=entry.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp_name, entry)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
