"""The decoded-IDX cache: same values as the source, reused, and never trusted when damaged."""

import gzip
import logging

import numpy as np
import pytest

from vaekit.data.idx import read_idx
from vaekit.data.idx_cache import idx_bytes, read_idx_cached
from vaekit.errors import DataError


@pytest.fixture
def gz_images(tmp_path):
    values = np.random.RandomState(0).randint(0, 256, size=(50, 7, 5)).astype(np.uint8)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(values)))
    return path, values


def test_first_read_fills_the_cache_and_the_second_uses_it(gz_images, tmp_path):
    path, values = gz_images
    cache = tmp_path / "cache"
    np.testing.assert_array_equal(read_idx_cached(path, cache), values)
    (entry,) = cache.iterdir()
    assert entry.read_bytes() == gzip.decompress(path.read_bytes())
    stamp = entry.stat().st_mtime_ns
    np.testing.assert_array_equal(read_idx_cached(path, cache), values)
    assert entry.stat().st_mtime_ns == stamp  # read, not rewritten


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_a_damaged_entry_is_detected_and_rebuilt(gz_images, tmp_path, caplog, damage):
    path, values = gz_images
    cache = tmp_path / "cache"
    read_idx_cached(path, cache)
    (entry,) = cache.iterdir()
    data = bytearray(entry.read_bytes())
    if damage == "flip":
        data[100] ^= 0xFF
    else:
        del data[-7:]
    entry.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        np.testing.assert_array_equal(read_idx_cached(path, cache), values)
    assert "does not match" in caplog.text
    assert entry.read_bytes() == gzip.decompress(path.read_bytes())  # rebuilt


def test_a_changed_source_gets_its_own_entry(gz_images, tmp_path):
    path, values = gz_images
    cache = tmp_path / "cache"
    read_idx_cached(path, cache)
    other = values.copy()
    other[0, 0, 0] ^= 1
    path.write_bytes(gzip.compress(idx_bytes(other)))
    np.testing.assert_array_equal(read_idx_cached(path, cache), other)
    assert len(list(cache.iterdir())) == 2


def test_raw_files_and_bad_sources_bypass_the_cache(gz_images, tmp_path):
    path, values = gz_images
    cache = tmp_path / "cache"
    raw = tmp_path / "raw-idx3-ubyte"
    raw.write_bytes(idx_bytes(values))
    np.testing.assert_array_equal(read_idx_cached(raw, cache), read_idx(raw))
    truncated = tmp_path / "bad.gz"
    truncated.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError):
        read_idx_cached(truncated, cache)
    assert not cache.exists()


def test_a_source_damaged_inside_is_not_served_from_the_cache(gz_images, tmp_path):
    """Same size, same trailer, a flipped byte in the compressed stream: the cache must not
    hide the damage behind the copy decoded before it."""
    path, _ = gz_images
    cache = tmp_path / "cache"
    read_idx_cached(path, cache)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataError):
        read_idx_cached(path, cache)
