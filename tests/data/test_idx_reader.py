"""read_idx: round trips and every malformed input raising DataError, fast and memory-bounded."""

from __future__ import annotations

import gzip
import struct
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaekit.data.idx import read_idx
from vaekit.errors import DataError


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", [(7,), (5, 3, 4), (2, 3, 4, 5), (1, 1)])
def test_round_trip(tmp_path, write_idx, shape, gz):
    array = np.random.RandomState(0).randint(0, 256, size=shape).astype(np.uint8)
    path = write_idx(tmp_path / "a.idx", array, gz=gz)
    got = read_idx(path)
    assert got.dtype == np.uint8
    assert got.shape == shape
    np.testing.assert_array_equal(got, array)


def _header(*dims: int, type_byte: int = 0x08) -> bytes:
    return struct.pack(">BBBB", 0, 0, type_byte, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(
    ("data", "match"),
    [
        (_header(4, 3) + bytes(11), "truncated"),
        (_header(4, 3) + bytes(13), "trailing"),
        (b"\x01\x00\x08\x01" + struct.pack(">I", 2) + bytes(2), "magic"),
        (_header(2, type_byte=0x0D) + bytes(8), "type"),
        (b"\x00\x00\x08\x00", "dimensions"),
        (b"\x00\x00\x08\x05" + bytes(20), "dimensions"),
        (_header(3, 0, 2), "zero"),
        (b"\x00\x00\x08\x02\x00\x00", "header truncated"),
        (b"", "magic"),
        (_header(2**32 - 1, 2**32 - 1, 2**32 - 1, 2**32 - 1) + bytes(16), "more than"),
    ],
)
def test_malformed_raises_data_error(tmp_path, data, match, gz):
    path = tmp_path / "bad.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(DataError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("gz", [False, True])
def test_lying_header_does_not_allocate(tmp_path, gz):
    # claims 2**31 bytes (the largest allowed) but holds 100: must fail without a 2 GiB buffer
    data = _header(2**15, 2**8, 2**8) + bytes(100)
    path = tmp_path / "liar.idx"
    path.write_bytes(gzip.compress(data) if gz else data)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="truncated"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20


def test_corrupt_gzip(tmp_path, write_idx):
    raw = write_idx(tmp_path / "a.idx", np.arange(200, dtype=np.uint8)).read_bytes()
    packed = bytearray(gzip.compress(raw))
    packed[20:30] = b"\xff" * 10
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(packed))
    with pytest.raises(DataError, match=str(path)):
        read_idx(path)


def test_truncated_gzip(tmp_path, write_idx):
    raw = write_idx(tmp_path / "a.idx", np.arange(200, dtype=np.uint8)).read_bytes()
    packed = gzip.compress(raw)
    path = tmp_path / "short.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataError, match="gzip"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such"):
        read_idx(tmp_path / "nothing.idx")


_headers = st.builds(
    lambda ndim, dims, rest: _header(*dims[:ndim]) + rest,
    st.integers(1, 4),
    st.lists(st.integers(0, 40), min_size=4, max_size=4),
    st.binary(max_size=300),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.binary(max_size=300), _headers),
    st.booleans(),
)
def test_arbitrary_bytes_array_or_data_error(data, gz):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.idx"
        path.write_bytes(gzip.compress(data) if gz else data)
        try:
            array = read_idx(path)
        except DataError:
            return
        assert isinstance(array, np.ndarray)
        assert array.dtype == np.uint8
