"""Generic lossless codecs on the same images, for comparison with the VAE's code length.

Stream codecs see the whole set as one stream: bits packed 8 per byte for binary data, raw
bytes for 8-bit data. Image codecs see each image as its own file, or all of them tiled into
one sprite sheet. Every codec's output is decoded again and compared with the input, so a
figure in the table is always a lossless one. Optional codecs (zstandard, pillow-jxl-plugin)
are reported as missing (`missing_codecs`) rather than failing when they are not installed.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import lzma
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from vaekit.errors import DataError


@dataclass(frozen=True)
class CodecResult:
    """name, total compressed bytes (None if unavailable), seconds to encode, note."""

    name: str
    num_bytes: int | None
    seconds: float
    note: str = ""


# optional codecs: table row name -> (module to import, the extra that installs it)
OPTIONAL_CODECS = {
    "zstd -19": ("zstandard", "vaekit[bench]"),
    "JXL per image / sprite sheet": ("pillow_jxl", "vaekit[bench]"),
}


def missing_codecs() -> list[str]:
    """Table notes for the optional codecs that are not installed, e.g.
    'zstd -19: not installed (pip install vaekit[bench])'."""
    missing = []
    for name, (module, extra) in OPTIONAL_CODECS.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(f"{name}: not installed (pip install {extra})")
    return missing


def _stream_codecs() -> dict[str, tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]]:
    codecs = {
        "gzip -9": (lambda b: gzip.compress(b, 9, mtime=0), gzip.decompress),
        "bz2 -9": (lambda b: bz2.compress(b, 9), bz2.decompress),
        "xz -9e": (
            lambda b: lzma.compress(b, preset=9 | lzma.PRESET_EXTREME),
            lzma.decompress,
        ),
    }
    try:
        import zstandard
    except ImportError:
        return codecs
    codecs["zstd -19"] = (
        zstandard.ZstdCompressor(level=19).compress,
        zstandard.ZstdDecompressor().decompress,
    )
    return codecs


def _image_formats(strongest: bool) -> dict[str, dict]:
    """PIL format name -> lossless save options, for the formats this PIL can write.

    strongest: the slowest, smallest settings (WebP method 6, JPEG-XL effort 9), used for the
    sprite sheets, the strong baselines; per-image files use the codecs' default effort,
    which is several times faster over 10,000 files and still far behind the sheets.
    """
    webp = {"lossless": True, "quality": 100, "method": 6 if strongest else 4}
    formats = {"PNG": {"optimize": True}, "WEBP": webp}
    try:
        import pillow_jxl  # noqa: F401  (registers the JXL format with PIL)
    except ImportError:
        return formats
    formats["JXL"] = {"lossless": True, "effort": 9 if strongest else 7}
    return formats


def _encode_image(pixels: np.ndarray, binary: bool, fmt: str, options: dict) -> bytes:
    """pixels (H, W) uint8 levels -> file bytes; binary PNGs are 1-bit, others 8-bit grey."""
    if binary and fmt == "PNG":
        image = Image.fromarray(pixels.astype(bool))
    else:
        image = Image.fromarray((pixels * 255).astype(np.uint8) if binary else pixels)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    data = buffer.getvalue()
    decoded = np.array(Image.open(io.BytesIO(data)).convert("L"))
    expected = pixels.astype(bool) * 255 if binary else pixels
    if not np.array_equal(decoded, expected):
        raise DataError(f"{fmt} did not round-trip losslessly")
    return data


def sprite_sheet(images: np.ndarray) -> np.ndarray:
    """(N, H, W) -> one (rows * H, cols * W) image, row-major, padded with zeros."""
    count, height, width = images.shape
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    sheet = np.zeros((rows * cols, height, width), dtype=images.dtype)
    sheet[:count] = images
    return (
        sheet.reshape(rows, cols, height, width)
        .transpose(0, 2, 1, 3)
        .reshape(rows * height, cols * width)
    )


def generic_codec_results(images: np.ndarray, levels: int) -> list[CodecResult]:
    """Lossless sizes of images (N, H, W) uint8 holding 0..levels-1 (levels 2 or 256)."""
    if images.ndim != 3 or levels not in (2, 256):
        raise DataError("generic codecs take (N, H, W) images with 2 or 256 levels")
    binary = levels == 2
    stream = np.packbits(images.ravel()).tobytes() if binary else images.tobytes()
    results = []
    for name, (encode, decode) in _stream_codecs().items():
        started = time.perf_counter()
        data = encode(stream)
        seconds = time.perf_counter() - started
        if decode(data) != stream:
            raise DataError(f"{name} did not round-trip losslessly")
        what = "packed bits" if binary else "raw bytes"
        results.append(CodecResult(name, len(data), seconds, f"one stream of {what}"))
    for fmt, options in _image_formats(strongest=False).items():
        started = time.perf_counter()
        total = sum(len(_encode_image(image, binary, fmt, options)) for image in images)
        note = f"sum of files, {_describe(options)}"
        results.append(CodecResult(f"{fmt} per image", total, time.perf_counter() - started, note))
    sheet = sprite_sheet(images)
    for fmt, options in _image_formats(strongest=True).items():
        started = time.perf_counter()
        size = len(_encode_image(sheet, binary, fmt, options))
        seconds = time.perf_counter() - started
        note = f"one image, {_describe(options)}"
        results.append(CodecResult(f"{fmt} sprite sheet", size, seconds, note))
    return results


def _describe(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items() if k not in ("lossless", "quality"))
