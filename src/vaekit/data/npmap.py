"""Images and tables in a .npy file or an uncompressed .npz member, memory-mapped.

The .npy header is parsed and checked by npyformat (never unpickled) and the values are
mapped read-only where they lie in the file: the whole array is never read into memory (the
checks that read every value, such as finiteness, go through it in blocks). Anything else
(compressed .npz members, Fortran order, layouts that need a copy) is left to the readers in
npfiles, which load it.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np

from vaekit.data.config import MEMORY_MAP_MIN_BYTES, DataConfig
from vaekit.data.convert import stored_examples
from vaekit.data.mapped import MappedExamples, MappedFile, row_indices
from vaekit.data.npfiles import (
    NPZ_LABEL_KEYS,
    NPZ_SPLIT_KEY,
    NPZ_X_KEYS,
    ZIP_ERRORS,
    read_member,
    with_split,
)
from vaekit.data.npyformat import NPY_MAGIC, ZIP_MAGIC, npy_layout
from vaekit.data.raw import RawExamples
from vaekit.errors import DataError

# zip local file header: signature, 22 bytes we skip, file name length, extra field length
LOCAL_HEADER = struct.Struct("<4s22xHH")
# a mapped array is bounded by its file, not memory; this only refuses absurd headers
MAX_MAPPED_BYTES = 1 << 50
MAPPED_ARRAY = tuple[MappedFile, np.ndarray, np.ndarray | None, np.ndarray | None]


def _map_values(
    path: Path, start: int, num_bytes: int, source: str, min_bytes: int
) -> tuple[MappedFile, np.ndarray] | None:
    """(map, array) of the .npy bytes at [start, start + num_bytes) of path, the array viewing
    the map, when it holds at least min_bytes of C-order numbers or bools in 2 or more
    dimensions; else None (also for a malformed header: the reader that loads the file says
    what is wrong)."""
    with path.open("rb") as handle:
        handle.seek(start)
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            return None
        handle.seek(start)
        try:
            dtype, shape, fortran_order, header_bytes = npy_layout(
                handle, num_bytes, source, max_bytes=MAX_MAPPED_BYTES
            )
        except DataError:
            return None
    if dtype.kind not in "biuf" or fortran_order or 0 in shape or len(shape) < 2:
        return None
    if num_bytes - header_bytes < min_bytes:
        return None
    file = MappedFile(path)
    return file, file.array(start + header_bytes, dtype, shape)


def _map_npy(path: Path, min_bytes: int) -> MAPPED_ARRAY | None:
    mapped = _map_values(path, 0, path.stat().st_size, str(path), min_bytes)
    return None if mapped is None else (*mapped, None, None)


def _member_start(path: Path, info: zipfile.ZipInfo) -> int | None:
    """Offset of a member's data in the archive: after its local header, whose name and extra
    fields may differ in length from the central directory's."""
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(LOCAL_HEADER.size)
    if len(header) != LOCAL_HEADER.size:
        return None
    signature, name_bytes, extra_bytes = LOCAL_HEADER.unpack(header)
    if signature != ZIP_MAGIC:
        return None
    start = info.header_offset + LOCAL_HEADER.size + name_bytes + extra_bytes
    return start if start + info.file_size <= path.stat().st_size else None


def _map_npz(path: Path, min_bytes: int) -> MAPPED_ARRAY | None:
    """(map, x viewing it, labels, split) as npfiles reads them, or None when x is compressed,
    encrypted or absent (the loading reader then reads it or says what is wrong)."""
    with zipfile.ZipFile(path) as archive:
        keys = {name[: -len(".npy")] for name in archive.namelist() if name.endswith(".npy")}
        x_key = next((key for key in NPZ_X_KEYS if key in keys), None)
        if x_key is None:
            return None
        info = archive.getinfo(f"{x_key}.npy")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            return None
        if info.file_size < min_bytes:
            return None
        y_key = next((key for key in NPZ_LABEL_KEYS if key in keys), None)
        y = None if y_key is None else read_member(archive, path, y_key)
        split = read_member(archive, path, NPZ_SPLIT_KEY) if NPZ_SPLIT_KEY in keys else None
    start = _member_start(path, info)
    if start is None:
        return None
    source = f"{path} (member {info.filename})"
    mapped = _map_values(path, start, info.file_size, source, min_bytes)
    return None if mapped is None else (*mapped, y, split)


def map_examples(path: Path, config: DataConfig) -> RawExamples | None:
    """The examples of a .npy or .npz file as a MappedExamples (see vaekit.data.mapped), or
    None when the file's array is compressed, in Fortran order or needs a copy to be read
    (see convert.stored_examples), or when config.memory_map is False, or None and the
    array takes < MEMORY_MAP_MIN_BYTES.

    Raises DataError as npfiles' readers do for a malformed array or labels.
    """
    if config.memory_map is False:
        return None
    min_bytes = MEMORY_MAP_MIN_BYTES if config.memory_map is None else 0
    if path.suffix.lower() == ".npy":
        found = _map_npy(path, min_bytes)
    else:
        try:
            found = _map_npz(path, min_bytes)
        except ZIP_ERRORS:
            return None  # read_npz reads the archive again and names what is wrong
    if found is None:
        return None
    file, x, y, split = found
    stored = stored_examples(x, y, str(path), config.input_shape, file.note_read)
    if stored is None:
        return None
    values = stored.values
    examples = MappedExamples(
        values,
        row_indices(np.arange(len(values)), len(values)),
        stored.decoding,
        values.shape[1:],
        file=file,
    )
    raw = RawExamples(examples, stored.labels, stored.kind, stored.levels, stored.scaling)
    return with_split(raw, split, path)
