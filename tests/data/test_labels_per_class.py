"""Semi-supervised data options: labels_per_class hides training labels, labelled_repeats
copies the labelled rows, an .npz `split` member fixes the split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaekit.data import DataConfig, load_data
from vaekit.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def full():
    return load_data(DataConfig(source="digits"))


def test_k_labels_per_class_are_kept_and_the_rest_hidden(full):
    data = load_data(DataConfig(source="digits", labels_per_class=3))
    kept = data.train.y >= 0
    assert int(kept.sum()) == 30 and bool((data.train.y[~kept] == -1).all())
    assert torch.bincount(data.train.y[kept], minlength=10).tolist() == [3] * 10
    # the kept labels are the true ones; images, val and test are untouched
    assert torch.equal(data.train.y[kept], full.train.y[kept])
    assert torch.equal(data.train.x, full.train.x)
    assert torch.equal(data.val.y, full.val.y) and torch.equal(data.test.y, full.test.y)
    assert data.spec.num_classes == 10


def test_the_choice_is_seeded(full):
    def chosen(seed):
        y = load_data(DataConfig(source="digits", labels_per_class=3, seed=seed)).train.y
        return y >= 0

    assert torch.equal(chosen(0), chosen(0))
    assert not torch.equal(chosen(0), chosen(1))


def test_too_few_labels_or_none_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"class \d has only \d+ labelled"):
        load_data(DataConfig(source="digits", labels_per_class=200))
    np.save(tmp_path / "x.npy", np.random.default_rng(0).random((30, 4)))
    with pytest.raises(ConfigError, match="needs labelled data"):
        load_data(DataConfig(source=str(tmp_path / "x.npy"), labels_per_class=1))
    with pytest.raises(ConfigError, match="labels_per_class"):
        DataConfig(labels_per_class=0)


def test_labelled_repeats_append_copies_of_the_labelled_rows():
    data = load_data(DataConfig(source="digits", labels_per_class=2, labelled_repeats=4))
    assert len(data.train) == 1259 + 3 * 20
    labelled = data.train.y >= 0
    assert int(labelled.sum()) == 80
    rows = {row.tobytes() for row in data.train.x[labelled].numpy()}
    assert len(rows) <= 20  # four copies of 20 images (fewer if two images are equal)
    assert DataConfig.from_dict(DataConfig(labelled_repeats=4).to_dict()).labelled_repeats == 4


def test_an_npz_split_member_fixes_the_split(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)), np.arange(20) % 2
    split = np.array([0] * 12 + [1] * 3 + [2] * 5)
    np.savez(tmp_path / "latents.npz", mean=x, labels=y, split=split)
    data = load_data(DataConfig(source=str(tmp_path / "latents.npz")))
    assert (len(data.train), len(data.val), len(data.test)) == (12, 3, 5)
    assert torch.equal(data.test.y, torch.from_numpy(y[15:]))
    np.savez(tmp_path / "bad.npz", x=x, split=np.full(20, 3))
    with pytest.raises(DataError, match="0 \\(train\\), 1 \\(val\\), 2 \\(test\\)"):
        load_data(DataConfig(source=str(tmp_path / "bad.npz")))
    with pytest.raises(ConfigError, match="fixes its own"):
        load_data(DataConfig(source=str(tmp_path / "latents.npz"), val_size=2))
