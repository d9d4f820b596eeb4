"""Image folders: flat or one subfolder per class; every bad file named in a DataError."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from vaekit.data import DataConfig, load_data
from vaekit.errors import DataError


def _save(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode).save(path)
    return array


def _grey(seed, size=(5, 4)):
    return np.random.RandomState(seed).randint(0, 256, size=size).astype(np.uint8)


def _load(folder):
    return load_data(DataConfig(source=str(folder)))


def _expect_error(folder, match):
    with pytest.raises(DataError, match=match) as info:
        _load(folder)
    assert "\n" not in str(info.value)


def test_flat_grey_folder(tmp_path):
    images = [_save(tmp_path / f"im{i:02d}.png", _grey(i)) for i in range(10)]
    (tmp_path / ".DS_Store").write_bytes(b"junk")  # hidden files are skipped
    splits = _load(tmp_path)
    assert splits.spec.shape == (1, 5, 4) and splits.spec.levels == 256
    assert splits.train.y is None
    expected = {(im / np.float32(255)).tobytes() for im in images}
    got = {x[0].tobytes() for s in (splits.train, splits.val, splits.test) for x in s.x.numpy()}
    assert got == expected


def test_class_subfolders_colour(tmp_path):
    rng = np.random.RandomState(0)
    for name in ("cat", "ant"):  # sorted: ant=0, cat=1
        for i in range(5):
            pixels = rng.randint(0, 256, size=(3, 4, 3)).astype(np.uint8)
            pixels[0, 0] = (0, 0, 0) if name == "ant" else (255, 255, 255)
            _save(tmp_path / name / f"{i}.png", pixels)
    _save(tmp_path / "cat" / "deep" / "x.jpg", np.full((3, 4, 3), 255, np.uint8))
    rgba = np.full((3, 4, 4), 255, np.uint8)
    _save(tmp_path / "cat" / "y.png", rgba, "RGBA")
    splits = _load(tmp_path)
    assert splits.spec.shape == (3, 3, 4) and splits.spec.num_classes == 2
    for split in (splits.train, splits.val, splits.test):
        for x, y in zip(split.x.numpy(), split.y.numpy()):
            assert x[:, 0, 0].mean() == (0.0 if y == 0 else 1.0)
    assert sum(len(s) for s in (splits.train, splits.val, splits.test)) == 12


def test_non_image_file(tmp_path):
    for i in range(4):
        _save(tmp_path / f"{i}.png", _grey(i))
    (tmp_path / "readme.txt").write_text("hello")
    _expect_error(tmp_path, "readme.txt")


def test_corrupt_png(tmp_path):
    for i in range(4):
        _save(tmp_path / f"{i}.png", _grey(i))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    _expect_error(tmp_path, "broken.png")


def test_mixed_sizes(tmp_path):
    for i in range(4):
        _save(tmp_path / f"{i}.png", _grey(i))
    _save(tmp_path / "9.png", _grey(9, size=(6, 4)))
    _expect_error(tmp_path, r"9.png: size 4x6 differs from 4x5")


def test_mixed_modes(tmp_path):
    for i in range(4):
        _save(tmp_path / f"{i}.png", _grey(i))
    _save(tmp_path / "9.png", np.zeros((5, 4, 3), np.uint8))
    _expect_error(tmp_path, r"9.png: colour image among greyscale")


def test_empty_folder_and_top_level_image_with_classes(tmp_path):
    (tmp_path / "empty").mkdir()
    _expect_error(tmp_path / "empty", "no PNG/JPEG")
    root = tmp_path / "mixed"
    _save(root / "a" / "1.png", _grey(1))
    _save(root / "loose.png", _grey(2))
    _expect_error(root, "loose.png")


# ---- inputs found by fuzzing (tests/fuzz) ----


def _png_bytes(array):
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _with_ihdr_size(png, width, height):
    """png with its IHDR width and height replaced and the chunk CRC recomputed."""
    fields = struct.pack(">II", width, height) + png[24:29]
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    return png[:16] + fields + crc + png[33:]


def _folder_with(tmp_path, name, data):
    for i in range(4):
        _save(tmp_path / f"{i}.png", _grey(i))
    (tmp_path / name).write_bytes(data)
    return tmp_path


def test_png_chunk_longer_than_file(tmp_path):
    """A 58-byte PNG whose IDAT claims 0xFFFFFFFF bytes made PIL read a 4 GiB buffer."""
    png = _png_bytes(_grey(0, size=(4, 4)))
    at = png.index(b"IDAT") - 4
    data = png[:at] + struct.pack(">I", 2**32 - 1) + png[at + 4 :]
    _expect_error(_folder_with(tmp_path, "a.png", data), r"a.png: PNG chunk b'IDAT' declares")


@pytest.mark.parametrize(
    ("width", "height", "match"),
    [
        (8000, 7000, "big.png: image is 8000x7000, more than 50000000 pixels"),  # our cap
        (10_000, 10_000, "big.png: .*exceeds limit"),  # PIL's warning, as an error
        (70_000, 70_000, "big.png: .*exceeds limit"),  # PIL's DecompressionBombError
    ],
)
def test_png_declaring_too_many_pixels(tmp_path, width, height, match):
    """Refused from the header, before any pixel buffer is allocated."""
    data = _with_ihdr_size(_png_bytes(_grey(0, size=(4, 4))), width, height)
    _expect_error(_folder_with(tmp_path, "big.png", data), match)


def test_other_formats_behind_a_png_name(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(_grey(0)).save(buf, format="BMP")
    _expect_error(_folder_with(tmp_path, "bmp.png", buf.getvalue()), "bmp.png")


def test_jpeg_still_loads(tmp_path):
    for i in range(5):
        _save(tmp_path / f"{i}.jpg", _grey(i))
    assert _load(tmp_path).spec.shape == (1, 5, 4)
