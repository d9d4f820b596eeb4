"""User images from a folder of PNG/JPEG files; first-level subfolders, if any, are classes."""

from __future__ import annotations

import logging
import os
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vaekit.data.config import DataConfig
from vaekit.data.convert import examples_from_arrays, short_reason
from vaekit.data.raw import RawExamples
from vaekit.errors import DataError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("L", "LA", "1")
COLOUR_MODES = ("RGB", "RGBA", "P")
IMAGE_FORMATS = ("PNG", "JPEG")  # what PIL may decode; content decides, not the suffix
MAX_IMAGE_PIXELS = 50_000_000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK_HEADER = struct.Struct(">I4s")  # length, type
_CHUNK_CRC_BYTES = 4
# what PIL and its decoders raise on corrupt, truncated or oversized files
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    MemoryError,
    zlib.error,
    struct.error,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


@dataclass(frozen=True)
class _Entry:
    path: Path
    label: int | None


def _visible_files(folder: Path) -> list[Path]:
    """Every non-hidden file under folder (hidden folders skipped), sorted by path."""
    found = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_dir():
            found.extend(_visible_files(path))
        else:
            found.append(path)
    return found


def _list_entries(folder: Path) -> tuple[list[_Entry], list[str]]:
    """Image files with labels (by sorted first-level subfolder) and the class names."""
    files = _visible_files(folder)
    for path in files:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise DataError(f"{path}: not a PNG/JPEG image; remove it from the image folder")
    if not files:
        raise DataError(f"{folder}: no PNG/JPEG images found")
    classes = sorted({p.relative_to(folder).parts[0] for p in files if p.parent != folder})
    if not classes:
        return [_Entry(p, None) for p in files], []
    for path in files:
        if path.parent == folder:
            raise DataError(
                f"{path}: images must all sit in class subfolders when any subfolder has images"
            )
    index = {name: i for i, name in enumerate(classes)}
    return [_Entry(p, index[p.relative_to(folder).parts[0]]) for p in files], classes


def _check_png_chunks(path: Path) -> None:
    """Refuse a PNG whose chunk headers declare more bytes than the file holds.

    PIL trusts a chunk's declared length and may try to read it whole (an IDAT length of
    0xFFFFFFFF in a 58-byte file asks for 4 GiB), so lengths are checked here first.
    Files that are not PNGs, or end mid chunk header, are left to PIL to refuse.
    """
    with path.open("rb") as f:
        if f.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
            return
        size = os.fstat(f.fileno()).st_size
        position = len(PNG_SIGNATURE)
        while position + _CHUNK_HEADER.size <= size:
            length, chunk_type = _CHUNK_HEADER.unpack(f.read(_CHUNK_HEADER.size))
            left = size - position - _CHUNK_HEADER.size - _CHUNK_CRC_BYTES
            if length > left:
                raise DataError(
                    f"{path}: PNG chunk {chunk_type!r} declares {length} bytes, "
                    f"but only {max(left, 0)} remain in the file"
                )
            position += _CHUNK_HEADER.size + length + _CHUNK_CRC_BYTES
            if chunk_type == b"IEND":
                return
            f.seek(position)


def _decode(path: Path) -> tuple[np.ndarray, bool]:
    """(H, W, C) uint8 with C = 1 (grey) or 3 (colour), and whether the file is 1-bit (mode
    "1", pixels 0/255 here); the size is checked before decoding."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(path, formats=IMAGE_FORMATS)
    with im:
        width, height = im.size
        if width * height > MAX_IMAGE_PIXELS:
            raise DataError(
                f"{path}: image is {width}x{height}, more than {MAX_IMAGE_PIXELS} pixels"
            )
        im.load()
        if im.mode in GREY_MODES:
            return np.asarray(im.convert("L"), dtype=np.uint8)[:, :, None], im.mode == "1"
        if im.mode in COLOUR_MODES:
            return np.asarray(im.convert("RGB"), dtype=np.uint8), False
        mode = im.mode
    raise DataError(f"{path}: unsupported image mode {mode!r}; use greyscale or RGB")


def _read_pixels(path: Path) -> tuple[np.ndarray, bool]:
    """(pixels, is 1-bit) as _decode; DataError names a bad file."""
    try:
        _check_png_chunks(path)
        return _decode(path)
    except DECODE_ERRORS as exc:
        raise DataError(f"{path}: cannot read image ({short_reason(exc)})") from exc


def _stack(entries: list[_Entry]) -> np.ndarray:
    """(N, H, W, C) uint8, or bool when every file is a 1-bit image (black/white PNGs hold
    binary data, 2 levels, not 8-bit grey); all images must share size and grey/colour."""
    first, all_one_bit = _read_pixels(entries[0].path)
    try:
        images = np.empty((len(entries), *first.shape), dtype=np.uint8)
    except MemoryError as exc:
        raise DataError(
            f"{entries[0].path.parent}: not enough memory for {len(entries)} images of "
            f"{first.shape[1]}x{first.shape[0]}x{first.shape[2]} bytes"
        ) from exc
    images[0] = first
    for i, entry in enumerate(entries[1:], start=1):
        pixels, one_bit = _read_pixels(entry.path)
        all_one_bit = all_one_bit and one_bit
        if pixels.shape[:2] != first.shape[:2]:
            raise DataError(
                f"{entry.path}: size {pixels.shape[1]}x{pixels.shape[0]} differs from "
                f"{first.shape[1]}x{first.shape[0]} of {entries[0].path.name}"
            )
        if pixels.shape[2] != first.shape[2]:
            kinds = {1: "greyscale", 3: "colour"}
            raise DataError(
                f"{entry.path}: {kinds[pixels.shape[2]]} image among {kinds[first.shape[2]]} "
                "images; convert them all to one mode"
            )
        images[i] = pixels
    return images > 0 if all_one_bit else images


def read_image_folder(folder: Path, config: DataConfig) -> RawExamples:
    """Images (N, C, H, W) float32 pixels/255 in [0, 1] (0/1 when all files are 1-bit),
    files sorted by path.

    Labels are the index of each image's first-level subfolder in sorted order, or None
    when all images sit directly in `folder`.
    """
    entries, classes = _list_entries(folder)
    if classes:
        logger.info("image folder %s: %d classes %s", folder, len(classes), classes)
    images = _stack(entries)
    labels = None if not classes else np.array([e.label for e in entries], dtype=np.int64)
    return examples_from_arrays(
        images.transpose(0, 3, 1, 2), labels, str(folder), config.input_shape
    )
