"""Flat pixel arrays read as images, --input-shape both ways, npz label pairings, absolute
sources, 1-bit PNG folders and CSV column names."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest
from PIL import Image

from vaekit.data import DataConfig, load_data
from vaekit.data.load import absolute_source
from vaekit.errors import ConfigError, DataError


def _flat_digits_bytes() -> tuple[np.ndarray, np.ndarray]:
    """sklearn digits as a user would ship them: (N, 64) uint8 pixels 0..255, int labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    pixels = np.round(digits.data * 255 / 16).astype(np.uint8)
    return pixels[:300], digits.target[:300].astype(np.int64)


def _save_npz(tmp_path, name="d.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_flat_uint8_square_width_is_read_as_images_with_one_warning(tmp_path, caplog):
    pixels, labels = _flat_digits_bytes()
    path = _save_npz(tmp_path, x=pixels, y=labels)
    with caplog.at_level(logging.WARNING, logger="vaekit"):
        splits = load_data(DataConfig(source=str(path)))
    assert splits.spec.kind == "image" and splits.spec.shape == (1, 8, 8)
    assert splits.spec.levels == 256 and splits.spec.feature_mean is None
    assert float(splits.train.x.max()) == 1.0 and float(splits.train.x.min()) == 0.0
    notes = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(notes) == 1 and "1x8x8" in notes[0] and "--input-shape 64" in notes[0]


def test_flat_bool_array_is_binary_images(tmp_path):
    bits = np.random.RandomState(0).rand(50, 16) > 0.5
    path = tmp_path / "b.npy"
    np.save(path, bits)
    spec = load_data(DataConfig(source=str(path))).spec
    assert spec.shape == (1, 4, 4) and spec.levels == 2


def test_input_shape_overrides_the_guess_either_way(tmp_path, caplog):
    pixels, labels = _flat_digits_bytes()
    path = _save_npz(tmp_path, x=pixels, y=labels)
    table = load_data(DataConfig(source=str(path), input_shape=(64,))).spec
    assert table.kind == "table" and table.shape == (64,)
    floats = _save_npz(tmp_path, "f.npz", x=pixels.astype(np.float32) / 255, y=labels)
    with caplog.at_level(logging.WARNING, logger="vaekit"):
        assert load_data(DataConfig(source=str(floats))).spec.kind == "table"
    assert "read as a table; if it holds images, pass --input-shape 1 8 8" in caplog.text
    image = load_data(DataConfig(source=str(floats), input_shape=(1, 8, 8))).spec
    assert image.kind == "image" and image.shape == (1, 8, 8)
    wide = load_data(DataConfig(source=str(path), input_shape=(1, 4, 16))).spec
    assert wide.shape == (1, 4, 16)


def test_input_shape_that_does_not_fit_is_one_line(tmp_path):
    pixels, _ = _flat_digits_bytes()
    path = tmp_path / "p.npy"
    np.save(path, pixels)
    with pytest.raises(DataError, match="needs 49 values per example, the data have 64"):
        load_data(DataConfig(source=str(path), input_shape=(1, 7, 7)))
    with pytest.raises(ConfigError, match="input_shape applies to user files only"):
        load_data(DataConfig(source="digits", input_shape=(1, 8, 8)))


@pytest.mark.parametrize("bad", [(0,), (1, 8), (2, 8, 8), (1, 8, 8, 1), [1, 8, 8], (True,)])
def test_input_shape_is_validated(bad):
    with pytest.raises(ConfigError, match="input_shape"):
        DataConfig(source="x.npy", input_shape=bad)


def test_input_shape_round_trips_through_json():
    config = DataConfig(source="/data/x.npz", input_shape=(1, 28, 28))
    again = DataConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and again.input_shape == (1, 28, 28)


@pytest.mark.parametrize("x_key,y_key", [("data", "labels"), ("images", "y"), ("x", "targets")])
def test_npz_keeps_labels_under_any_pairing_of_keys(tmp_path, x_key, y_key):
    pixels, labels = _flat_digits_bytes()
    path = _save_npz(tmp_path, **{x_key: pixels, y_key: labels})
    splits = load_data(DataConfig(source=str(path)))
    assert splits.spec.num_classes == 10 and splits.train.y is not None
    assert len(splits.train.y) == len(splits.train)


def test_relative_paths_become_absolute_and_builtins_stay(tmp_path, monkeypatch):
    pixels, labels = _flat_digits_bytes()
    _save_npz(tmp_path, x=pixels, y=labels)
    monkeypatch.chdir(tmp_path)
    assert absolute_source("d.npz") == str(tmp_path / "d.npz")
    assert os.path.isabs(absolute_source("./d.npz"))
    assert absolute_source("digits") == "digits"
    assert absolute_source("missing.npz") == "missing.npz"  # load_data names it as given


def test_folder_of_one_bit_pngs_is_binary(tmp_path):
    rng = np.random.RandomState(0)
    for i in range(6):
        Image.fromarray(rng.rand(5, 4) > 0.5).convert("1").save(tmp_path / f"{i}.png")
    assert Image.open(tmp_path / "0.png").mode == "1"
    splits = load_data(DataConfig(source=str(tmp_path)))
    assert splits.spec.levels == 2
    values = np.unique(np.concatenate([s.x.numpy().ravel() for s in (splits.train, splits.test)]))
    assert set(values.tolist()) == {0.0, 1.0}


def test_csv_pixels_with_input_shape_are_8_bit_images(tmp_path):
    pixels, labels = _flat_digits_bytes()
    header = "label," + ",".join(f"p{i}" for i in range(64))
    rows = np.column_stack([labels, pixels])
    path = tmp_path / "pixels.csv"
    np.savetxt(path, rows, fmt="%d", delimiter=",", header=header, comments="")
    config = DataConfig(source=str(path), label_column="label", input_shape=(1, 8, 8))
    spec = load_data(config).spec
    assert spec.kind == "image" and spec.levels == 256 and spec.num_classes == 10


def test_csv_tables_keep_their_column_names_without_the_label(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,label,b\n1,0,2\n3,1,5\n4,0,7\n6,1,1\n2,0,2\n")
    spec = load_data(DataConfig(source=str(path), label_column="label")).spec
    assert spec.feature_names == ("a", "b")
