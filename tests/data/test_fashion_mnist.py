"""Fashion-MNIST from Debian's dataset-fashion-mnist: splits, ranges and protocol bits."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from vaekit.data import DataConfig, load_data
from vaekit.data.locate import find_dataset_dir
from vaekit.data.mapped import MappedExamples

SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
pytestmark = pytest.mark.skipif(
    not (SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
    reason=f"{SYSTEM_DIR} absent (apt-get install dataset-fashion-mnist)",
)


def _raw_pixels(stem: str) -> np.ndarray:
    """Pixels as uint8 (N, 784), decoded here independently of vaekit's IDX reader."""
    data = gzip.decompress((SYSTEM_DIR / f"{stem}.gz").read_bytes())
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 784)


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VAEKIT_DATA", str(empty))
        mp.setenv("XDG_CACHE_HOME", str(empty))
        assert find_dataset_dir("fashion-mnist") == SYSTEM_DIR
        yield load_data(DataConfig(source="fashion-mnist", binarize="dynamic"))


def test_shapes_and_sizes(splits):
    assert (len(splits.train), len(splits.val), len(splits.test)) == (55000, 5000, 10000)
    for split in (splits.train, splits.val, splits.test):
        assert split.x.shape[1:] == (1, 28, 28)
    # train stays as bytes, scaled per batch; val and test are binarized tensors
    assert isinstance(splits.train.x, MappedExamples) and splits.train.x.stored.dtype == np.uint8
    assert splits.val.x.is_contiguous() and splits.test.x.is_contiguous()
    for split in (splits.train, splits.val, splits.test):
        assert split.y is not None and set(split.y.unique().tolist()) == set(range(10))
    assert splits.spec.shape == (1, 28, 28)
    assert splits.spec.levels == 2
    assert splits.spec.num_classes == 10
    assert "dynamically binarized" in splits.spec.scaling


def test_train_is_grey_pixels_over_255(splits):
    train_pixels = _raw_pixels("train-images-idx3-ubyte")
    x = splits.train.x.numpy().reshape(55000, 784)
    assert x.min() == 0.0 and x.max() == 1.0
    for rows in (slice(0, 500), slice(54500, 55000)):  # both ends: file order, no shuffling
        np.testing.assert_array_equal(x[rows], train_pixels[rows] / np.float32(255))


def test_test_set_bits_follow_the_protocol(splits):
    pixels = _raw_pixels("t10k-images-idx3-ubyte") / 255.0
    expected = np.random.RandomState(0).random_sample((10000, 784)) < pixels
    np.testing.assert_array_equal(splits.test.x.reshape(10000, 784).numpy(), expected)


def test_val_is_last_5000_train_binarized_with_seed_1(splits):
    pixels = _raw_pixels("train-images-idx3-ubyte")[55000:] / 255.0
    expected = np.random.RandomState(1).random_sample((5000, 784)) < pixels
    np.testing.assert_array_equal(splits.val.x.reshape(5000, 784).numpy(), expected)


def test_labels_in_file_order(splits):
    labels = np.frombuffer(
        gzip.decompress((SYSTEM_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()),
        dtype=np.uint8,
        offset=8,
    )
    np.testing.assert_array_equal(splits.test.y.numpy(), labels)


def test_train_read_per_batch_equals_the_split_in_memory(splits):
    in_memory = load_data(DataConfig(source="fashion-mnist", binarize="dynamic", memory_map=False))
    assert isinstance(in_memory.train.x, torch.Tensor)
    rows = torch.randperm(55000, generator=torch.Generator().manual_seed(0))[:2000]
    assert torch.equal(splits.train.x[rows], in_memory.train.x[rows])
    assert torch.equal(splits.train.x[54000:], in_memory.train.x[54000:])
