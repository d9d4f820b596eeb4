"""The .vkz container: a versioned header, the coded words, and a SHA-256 over both.

Layout (little-endian):
    magic      8 bytes   b"\\x89VKZ\\r\\n\\x1a\\n" (a PNG-style signature: catches text-mode
                         transfers and files that are not vaekit's)
    version    u16       the lowest version that describes the file, so older readers
                         still read what they can: 1; 2 for mode 2 (MODE_VERSIONS); 3 when
                         8-bit levels and latent buckets are coded down binary trees
                         (TREE_VERSION; versions 1 and 2 code them as one row per symbol);
                         4 when the chunks grow more slowly than the mode's first ramp
                         (RAMP_VERSION)
    mode       u8        0 lossless (bits-back), 1 lossy (quantized latent means),
                         2 hierarchical (bits-back over the layers of an hvae)
    precision  u8        latent bucket bits (lossless) or --latent-bits (lossy)
    batch      u32       chunk size the coder used (chunks are 1, 2, 4, ... up to it)
    seed_kept  u32       seed words of the stack left out of the payload (bitsback.py)
    model      32 bytes  SHA-256 of the model.safetensors that coded the data
    dtype      u8 + str  numpy dtype string of the original array, e.g. "|u1", "<f4"
    shape      u8 + u64s the original array's shape
    coding     u8        version 4 and later only: bit 0 set when levels and buckets are
                         coded down trees (implied by version 3, absent before), bits 1-7
                         the chunks' growth, an index into the mode's RAMPS
                         (bitsback.py, bitsback_hierarchical.py; 0 in earlier versions)
    words      u64       number of 32-bit payload words, then the words
    digest     32 bytes  SHA-256 of everything above
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from vaekit.errors import DataError

MAGIC = b"\x89VKZ\r\n\x1a\n"
FORMAT_VERSION = 4  # the newest version this module reads and writes
MODES = ("lossless", "lossy", "hierarchical")
MODE_VERSIONS = {"lossless": 1, "lossy": 1, "hierarchical": 2}  # the version each is written as
TREE_VERSION = 3  # the first version whose 8-bit levels go down the tree (level_tree.py)
RAMP_VERSION = 4  # the first version with a ramp field
MAX_RAMP = 127
_FIXED = struct.Struct("<8sHBBII32s")
_DIGEST_BYTES = 32
MAX_NDIM = 32


@dataclass(frozen=True)
class Header:
    """Everything but the payload: see the module docstring for the meaning of each field."""

    mode: str
    precision: int
    batch_size: int
    seed_kept: int
    model_sha256: str  # hex
    dtype: str
    shape: tuple[int, ...]
    tree_coded: bool = False  # levels and buckets coded down trees (version 3 and later)
    ramp: int = 0  # chunk growth, an index into the mode's RAMPS (version 4 and later)

    @property
    def version(self) -> int:
        """The format version the file is written as: the lowest that describes it."""
        return max(
            MODE_VERSIONS[self.mode],
            TREE_VERSION if self.tree_coded else 1,
            RAMP_VERSION if self.ramp else 1,
        )


def pack(header: Header, payload: np.ndarray) -> bytes:
    """Header + payload (uint32 words) -> the bytes of a .vkz file."""
    if not 0 <= header.ramp <= MAX_RAMP:
        raise ValueError(f"ramp must be in 0..{MAX_RAMP}, got {header.ramp}")
    dtype = header.dtype.encode("ascii")
    parts = [
        _FIXED.pack(
            MAGIC,
            header.version,
            MODES.index(header.mode),
            header.precision,
            header.batch_size,
            header.seed_kept,
            bytes.fromhex(header.model_sha256),
        ),
        struct.pack("<B", len(dtype)) + dtype,
        struct.pack(f"<B{len(header.shape)}Q", len(header.shape), *header.shape),
        struct.pack("<B", header.ramp << 1 | header.tree_coded)
        if header.version >= RAMP_VERSION
        else b"",
        struct.pack("<Q", payload.size),
        payload.astype("<u4").tobytes(),
    ]
    body = b"".join(parts)
    return body + hashlib.sha256(body).digest()


def unpack(data: bytes) -> tuple[Header, np.ndarray]:
    """The bytes of a .vkz file -> (Header, payload words uint32); DataError if malformed."""
    if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
        raise DataError("not a vaekit compressed file (bad magic bytes)")
    if len(data) < _FIXED.size:
        raise DataError("truncated file: the header is incomplete")
    magic, version, mode, precision, batch, kept, model = _FIXED.unpack_from(data)
    if not 1 <= version <= FORMAT_VERSION:
        raise DataError(
            f"unsupported format version {version}; this vaekit reads versions 1 to "
            f"{FORMAT_VERSION}"
        )
    body, digest = data[:-_DIGEST_BYTES], data[-_DIGEST_BYTES:]
    if len(data) < _FIXED.size + _DIGEST_BYTES or hashlib.sha256(body).digest() != digest:
        raise DataError("corrupt or truncated file: the checksum does not match")
    reader = _Reader(body, _FIXED.size)
    dtype = reader.take(reader.unpack("<B")[0]).decode("ascii", errors="replace")
    (ndim,) = reader.unpack("<B")
    shape = reader.unpack(f"<{ndim}Q")
    (coding,) = reader.unpack("<B") if version >= RAMP_VERSION else (0,)
    tree_coded = bool(coding & 1) if version >= RAMP_VERSION else version >= TREE_VERSION
    ramp = coding >> 1
    (num_words,) = reader.unpack("<Q")
    payload = np.frombuffer(reader.take(4 * num_words), dtype="<u4").astype(np.uint32)
    if reader.offset != len(body):
        raise DataError("corrupt file: trailing bytes after the payload")
    if mode >= len(MODES) or ndim > MAX_NDIM or batch < 1:
        raise DataError("corrupt file: header fields out of range")
    if MODE_VERSIONS[MODES[mode]] > version:
        raise DataError(f"corrupt file: mode {MODES[mode]} in a version {version} file")
    header = Header(MODES[mode], precision, batch, kept, model.hex(), dtype, tuple(shape),
                    tree_coded=tree_coded, ramp=ramp)  # fmt: skip
    return header, payload


class _Reader:
    """Bounds-checked reads from the body: a short read is a DataError, never an IndexError."""

    def __init__(self, data: bytes, offset: int) -> None:
        self.data, self.offset = data, offset

    def take(self, size: int) -> bytes:
        if size < 0 or self.offset + size > len(self.data):
            raise DataError("corrupt file: a header field runs past the end")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))
