"""User arrays (.npy/.npz): layouts, scaling, tables; each bad input is a one-line DataError."""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np
import pytest

from vaekit.data import DataConfig, load_data
from vaekit.errors import ConfigError, DataError


def _all_x(splits) -> np.ndarray:
    return np.concatenate([s.x.numpy() for s in (splits.train, splits.val, splits.test)])


def _load_npy(tmp_path, array, **kwargs):
    path = tmp_path / "x.npy"
    np.save(path, array)
    return load_data(DataConfig(source=str(path), **kwargs))


def _raises_one_line(exc_type, match, fn, *args, **kwargs):
    with pytest.raises(exc_type, match=match) as info:
        fn(*args, **kwargs)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_uint8_images_scaled_and_split(tmp_path):
    x = np.random.RandomState(0).randint(0, 256, size=(40, 6, 5)).astype(np.uint8)
    splits = _load_npy(tmp_path, x)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (28, 4, 8)
    assert splits.spec.shape == (1, 6, 5) and splits.spec.levels == 256
    assert splits.train.y is None and splits.spec.num_classes is None
    got = np.sort(_all_x(splits).reshape(40, -1), axis=0)
    np.testing.assert_array_equal(got, np.sort(x.reshape(40, -1) / np.float32(255), axis=0))


@pytest.mark.parametrize(
    ("shape", "transpose", "expected"),
    [
        ((10, 3, 4, 5), None, (3, 4, 5)),
        ((10, 1, 4, 5), None, (1, 4, 5)),
        ((10, 6, 5, 3), (0, 3, 1, 2), (3, 6, 5)),
        ((10, 4, 5, 3), None, (4, 5, 3)),  # dim 1 in (1, 3, 4) wins: channels first
    ],
)
def test_image_layouts(tmp_path, shape, transpose, expected):
    x = np.random.RandomState(1).randint(0, 256, size=shape).astype(np.uint8)
    splits = _load_npy(tmp_path, x)
    assert splits.spec.shape == expected
    nchw = x if transpose is None else x.transpose(transpose)
    flat_in = {row.tobytes() for row in (nchw.reshape(10, -1) / np.float32(255))}
    flat_out = {row.tobytes() for row in _all_x(splits).reshape(10, -1)}
    assert flat_in == flat_out


def test_bool_and_float_images(tmp_path):
    splits = _load_npy(tmp_path, np.random.RandomState(2).rand(10, 4, 4) > 0.5)
    assert splits.spec.levels == 2
    assert set(np.unique(_all_x(splits))) <= {0.0, 1.0}
    splits = _load_npy(tmp_path, np.random.RandomState(2).rand(10, 4, 4))
    assert splits.spec.levels is None and splits.train.x.dtype.is_floating_point


def test_table_standardized_with_train_stats(tmp_path):
    x = np.random.RandomState(3).normal(5.0, 3.0, size=(50, 3))
    x[:, 2] = 7.25  # constant (non-integer) column: std 0 -> 1
    splits = _load_npy(tmp_path, x)
    spec = splits.spec
    assert spec.kind == "table" and spec.shape == (3,) and spec.levels is None
    train = splits.train.x.numpy()
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train[:, :2].std(axis=0), 1.0, atol=1e-5)
    assert spec.feature_std[2] == 1.0 and spec.feature_mean[2] == 7.25
    restored = splits.test.x.numpy() * np.array(spec.feature_std) + np.array(spec.feature_mean)
    rows = {tuple(np.round(r, 4)) for r in x}
    assert all(tuple(np.round(r, 4)) in rows for r in restored)


def test_table_cannot_be_binarized(tmp_path):
    _raises_one_line(ConfigError, "tables", _load_npy, tmp_path, np.ones((9, 2)), binarize="static")


@pytest.mark.parametrize(
    ("keys", "labelled"),
    [
        (("x", "y"), True),
        (("images", "labels"), True),
        (("data", "targets"), True),
        (("x",), False),
    ],
)
def test_npz_keys(tmp_path, keys, labelled):
    x = np.random.RandomState(4).randint(0, 256, size=(20, 4, 4)).astype(np.uint8)
    arrays = dict(zip(keys, (x, np.arange(20) % 4)))
    np.savez(tmp_path / "d.npz", **arrays)
    splits = load_data(DataConfig(source=str(tmp_path / "d.npz")))
    assert (splits.train.y is not None) == labelled
    if labelled:
        assert splits.spec.num_classes == 4
        for split in (splits.train, splits.val, splits.test):  # labels travel with their images
            for image, label in zip(split.x.numpy(), split.y.numpy()):
                match = np.flatnonzero((x / np.float32(255) == image[0]).all(axis=(1, 2)))
                assert label in np.arange(20)[match] % 4


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.ones(5), "shape"),
        (np.ones((3, 2, 2, 2, 2)), "shape"),
        (np.ones((4, 5, 5, 5)), "channel"),
        (np.zeros((0, 4, 4), dtype=np.uint8), "no examples"),
        (np.linspace(0, 1.5, 80).reshape(5, 4, 4), r"span \[0, 1.5\]"),
        (np.full((5, 4, 4), -0.5), r"must be uint8"),
        (np.ones((5, 4, 4), dtype=np.int16), "int16"),
        (np.ones((5, 2), dtype=np.complex64), "complex"),
    ],
)
def test_bad_arrays(tmp_path, array, match):
    _raises_one_line(DataError, match, _load_npy, tmp_path, array)


def test_nan_reports_count_and_first_index(tmp_path):
    x = np.zeros((6, 3, 3))
    x[2, 1, 0] = np.nan
    x[4, 0, 0] = np.inf
    message = _raises_one_line(DataError, "2 non-finite", _load_npy, tmp_path, x)
    assert "(2, 1, 0)" in message


def test_object_array_in_npz_is_refused(tmp_path):
    np.savez(tmp_path / "o.npz", x=np.array([{"a": 1}, None] * 3, dtype=object))
    _raises_one_line(DataError, "pickle", load_data, DataConfig(source=str(tmp_path / "o.npz")))


def test_npz_without_known_keys(tmp_path):
    np.savez(tmp_path / "k.npz", pixels=np.ones((5, 2)))
    _raises_one_line(DataError, "pixels", load_data, DataConfig(source=str(tmp_path / "k.npz")))


@pytest.mark.parametrize("labels", [np.arange(4), np.arange(5) * 0.5, -np.arange(5)])
def test_bad_labels(tmp_path, labels):
    np.savez(tmp_path / "l.npz", x=np.ones((5, 2)), y=labels)
    _raises_one_line(DataError, "labels", load_data, DataConfig(source=str(tmp_path / "l.npz")))


def test_corrupt_files(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    for name in ("bad.npz", "bad.npy"):
        _raises_one_line(DataError, name, load_data, DataConfig(source=str(tmp_path / name)))


# ---- inputs found by fuzzing (tests/fuzz): each once escaped as a non-vaekit exception ----


def _npy_header(descr, shape, extra=""):
    """A version 1.0 .npy header for any descr and shape, written from NEP 1, not numpy."""
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {shape!r}, {extra}}}"
    text += " " * (-(10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _load_bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return load_data(DataConfig(source=str(path)))


def _flip_central_dir_byte(data, offset):
    """data with bit 0 flipped at `offset` bytes into the zip's first central directory entry."""
    out = bytearray(data)
    out[data.find(b"PK\x01\x02") + offset] ^= 1
    return bytes(out)


NPZ_XY = _npz_bytes(x=np.random.RandomState(0).rand(6, 3), y=np.arange(6))


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("z.npy", NPZ_XY, r"is an \.npz archive"),  # was AttributeError (NpzFile)
        ("a.npz", _npy_header("<f8", (6, 3)) + bytes(144), r"is a \.npy array"),  # TypeError
        ("m.npz", None, r"member x\.npy.*not a valid \.npy"),  # was AttributeError (bytes)
        ("e.npz", _flip_central_dir_byte(NPZ_XY, 8), "encrypted"),  # was RuntimeError
        ("c.npz", _flip_central_dir_byte(NPZ_XY, 10), "compression"),  # NotImplementedError
        ("h.npy", _npy_header("<f8", (10**14,)), "more than"),  # was a 728 TiB allocation
        ("o.npy", _npy_header("<f8", (10**30,)), "more than"),  # was OverflowError
        ("t.npy", b"\x93NUMPY\x01\x00\x06\x00\0\0\0'''", "not a valid"),  # tokenize.TokenError
        ("k.npy", _npy_header("<f8", (6, 3), "2: 0"), "not a valid"),  # was TypeError
        ("s.npy", _npy_header("<f8", (6, 3)) + bytes(10), "144 bytes"),  # short data
        ("p.npy", _npy_header("|O", (6, 3)), "pickle"),  # never unpickled
    ],
)
def test_malformed_array_files(tmp_path, name, data, match):
    if data is None:  # an .npz whose x.npy member is not an array
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as archive:
            archive.writestr("x.npy", b"not an array")
        data = buf.getvalue()
    message = _raises_one_line(DataError, match, _load_bytes, tmp_path, name, data)
    assert name in message


def test_npz_member_larger_than_cap_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr("vaekit.data.npfiles.MAX_ARRAY_BYTES", 100)
    _raises_one_line(DataError, "uncompressed bytes", _load_bytes, tmp_path, "b.npz", NPZ_XY)


def test_fortran_order_and_big_endian_arrays_still_load(tmp_path):
    x = np.asfortranarray(np.random.RandomState(5).rand(10, 3).astype(">f4"))
    splits = _load_npy(tmp_path, x)
    assert splits.spec.shape == (3,)
    restored = splits.test.x.numpy() * np.array(splits.spec.feature_std) + splits.spec.feature_mean
    rows = {tuple(np.round(r, 4)) for r in x.astype(np.float64)}
    assert all(tuple(np.round(r, 4)) in rows for r in restored)


def test_table_outside_float32_after_standardizing(tmp_path):
    """std ~1e-100 in train and 1.0 in test used to come back as inf."""
    x = 1e-100 * np.arange(1, 11, dtype=np.float64)[:, None]
    x[np.random.RandomState(0).permutation(10)[0]] = 1.0  # a test index for seed 0
    _raises_one_line(DataError, "column 0 of the test split.*float32", _load_npy, tmp_path, x)


def test_table_whose_mean_overflows_is_a_data_error(tmp_path):
    x = np.full((10, 2), 1.0)
    x[:, 1] = 1.5e308  # finite, but the column sum is not
    _raises_one_line(DataError, "column 1 of the train split", _load_npy, tmp_path, x)


def test_nearly_constant_column_is_not_blown_up(tmp_path):
    """Rounding noise in the std of a constant column counts as std 0 (-> 1)."""
    x = np.random.RandomState(6).rand(20, 2)
    x[:, 1] = 0.1 + 0.2  # std of this column is rounding noise, not spread
    x[0, 1] = 0.3  # one ulp away from 0.1 + 0.2
    splits = _load_npy(tmp_path, x)
    assert splits.spec.feature_std[1] == 1.0
    assert float(splits.train.x[:, 1].abs().max()) < 1e-6
