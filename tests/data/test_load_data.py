"""load_data on digits and small user arrays: splits, binarization protocol, limits, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from vaekit.data import DATASETS, DataConfig, load_data
from vaekit.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def digits_images():
    return load_digits().images.reshape(-1, 64) / 16.0


def _rows(split) -> list[bytes]:
    return [row.tobytes() for row in split.x.numpy().reshape(len(split), -1)]


def test_datasets_names():
    assert DATASETS == ("digits", "fashion-mnist", "mnist")


def test_digits_split(digits_images):
    splits = load_data(DataConfig())
    spec = splits.spec
    assert (spec.shape, spec.kind, spec.levels, spec.num_classes) == ((1, 8, 8), "image", 17, 10)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1259, 179, 359)
    for split in (splits.train, splits.val, splits.test):
        assert split.x.dtype == torch.float32 and split.x.is_contiguous()
        assert split.y.dtype == torch.int64
    everything = np.concatenate(
        [s.x.numpy().reshape(-1, 64) for s in (splits.train, splits.val, splits.test)]
    )
    # the three splits are a permutation of the 1,797 images
    order = np.lexsort(everything.T)
    expected = digits_images.astype(np.float32)
    np.testing.assert_array_equal(everything[order], expected[np.lexsort(expected.T)])


def test_digits_split_depends_on_seed_only():
    a, b, c = (load_data(DataConfig(seed=s)) for s in (0, 0, 1))
    assert torch.equal(a.test.x, b.test.x)
    assert not torch.equal(a.test.x, c.test.x)


def test_static_binarization_follows_protocol():
    grey = load_data(DataConfig(seed=3))
    bits = load_data(DataConfig(seed=3, binarize="static"))
    assert bits.spec.levels == 2 and "RandomState(1003)" in bits.spec.scaling
    # train: RandomState(1000 + seed), apart from val's RandomState(1) and test's RandomState(0)
    for name, rng_seed in (("train", 1003), ("val", 1), ("test", 0)):
        pixels = getattr(grey, name).x.numpy().reshape(-1, 64)
        expected = np.random.RandomState(rng_seed).random_sample(pixels.shape) < pixels
        got = getattr(bits, name)
        np.testing.assert_array_equal(got.x.numpy().reshape(-1, 64), expected)
        assert torch.equal(got.y, getattr(grey, name).y)


def test_dynamic_keeps_train_grey_and_binarizes_eval():
    grey = load_data(DataConfig())
    dyn = load_data(DataConfig(binarize="dynamic"))
    assert torch.equal(dyn.train.x, grey.train.x)
    assert set(dyn.test.x.unique().tolist()) == {0.0, 1.0}
    assert set(dyn.val.x.unique().tolist()) == {0.0, 1.0}


def test_limits_slice_after_binarizing_the_full_sets():
    full = load_data(DataConfig(binarize="static"))
    small = load_data(DataConfig(binarize="static", train_limit=50, eval_limit=20))
    assert (len(small.train), len(small.val), len(small.test)) == (50, 20, 20)
    assert torch.equal(small.test.x, full.test.x[:20])
    assert torch.equal(small.val.x, full.val.x[:20])
    assert torch.equal(small.train.x, full.train.x[:50])
    assert torch.equal(small.test.y, full.test.y[:20])
    assert small.train.x.untyped_storage().nbytes() == small.train.x.nbytes  # not a view


def test_val_size():
    splits = load_data(DataConfig(val_size=100))
    assert (len(splits.val), len(splits.test)) == (100, 359)
    with pytest.raises(ConfigError, match="val_size=1500"):
        load_data(DataConfig(val_size=1500))


@pytest.mark.parametrize(
    ("source", "match"),
    [("cifar-10", "no built-in dataset or file named 'cifar-10'"), ("missing/x.npy", "missing")],
)
def test_unknown_source(source, match):
    with pytest.raises(DataError, match=match):
        load_data(DataConfig(source=source))


def test_unsupported_suffix_and_label_column_misuse(tmp_path):
    (tmp_path / "x.txt").write_text("1 2 3")
    with pytest.raises(DataError, match="unsupported file type"):
        load_data(DataConfig(source=str(tmp_path / "x.txt")))
    with pytest.raises(ConfigError, match="label_column"):
        load_data(DataConfig(label_column="y"))


def test_too_few_examples(tmp_path):
    np.save(tmp_path / "two.npy", np.ones((2, 3)))
    with pytest.raises(DataError, match="at least 3"):
        load_data(DataConfig(source=str(tmp_path / "two.npy")))
    np.save(tmp_path / "three.npy", np.arange(9.0).reshape(3, 3))
    splits = load_data(DataConfig(source=str(tmp_path / "three.npy")))
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1, 1, 1)
