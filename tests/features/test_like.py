"""load_like reads new data as the run's test data were read."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from vaekit.data import DataConfig, load_data
from vaekit.data.like import binarize_like, load_like, read_like
from vaekit.data.raw import RawExamples, split_examples
from vaekit.errors import DataError


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("like") / "digits.npz"
    x, y = load_digits(return_X_y=True)
    np.savez(path, x=(x.reshape(-1, 8, 8) * 15).astype(np.uint8), y=y.astype(np.int64))
    return path


def split_test_rows(num: int, config: DataConfig) -> np.ndarray:
    """File positions of the test split load_data makes of `num` examples."""
    positions = RawExamples(np.arange(num)[:, None], None, "table", None, "")
    return split_examples(positions, config.val_size, config.seed).test.x[:, 0]


def test_images_reproduce_the_test_split(image_file):
    data = load_data(DataConfig(source=str(image_file)))
    split = load_like(data.config, data.spec, image_file)
    rows = split_test_rows(len(split), data.config)
    assert len(split) == 1797 and torch.equal(split.y[rows], data.test.y)
    assert torch.equal(split.x[rows], data.test.x)


def test_tables_use_the_runs_column_statistics(tmp_path):
    rng = np.random.RandomState(0)
    rows = rng.normal(5.0, 2.0, size=(200, 3))
    path = tmp_path / "rows.csv"
    np.savetxt(path, rows, delimiter=",", header="a,b,c", comments="")
    data = load_data(DataConfig(source=str(path)))
    split = read_like(data.config, data.spec, path)
    mean, std = np.array(data.spec.feature_mean), np.array(data.spec.feature_std)
    expected = ((rows - mean) / std).astype(np.float32)
    assert np.allclose(split.x.numpy(), expected, atol=1e-5)
    # the run's own test rows come out as load_data gave them
    assert torch.allclose(split.x[split_test_rows(200, data.config)], data.test.x, atol=1e-6)


def test_binarized_runs_binarize_with_the_test_seed(image_file):
    data = load_data(DataConfig(source=str(image_file), binarize="dynamic"))
    grey = read_like(data.config, data.spec, image_file)
    bits = binarize_like(data.spec, grey)
    assert set(bits.x.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(bits.x, load_like(data.config, data.spec, image_file).x)


def test_other_shapes_and_missing_files_are_data_errors(image_file, tmp_path):
    data = load_data(DataConfig(source=str(image_file)))
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((4, 7, 7), dtype=np.uint8))
    with pytest.raises(DataError, match=r"shape \(1, 7, 7\).*\(1, 8, 8\)"):
        load_like(data.config, data.spec, wrong)
    with pytest.raises(DataError, match="no such file"):
        load_like(data.config, data.spec, tmp_path / "absent.npy")


def test_new_rows_without_the_runs_label_column_are_read_unlabelled(tmp_path):
    rows = np.random.RandomState(1).normal(size=(60, 3))
    labelled = tmp_path / "labelled.csv"
    np.savetxt(labelled, np.c_[rows, np.arange(60) % 2], delimiter=",", header="a,b,c,label",
               comments="", fmt="%.6f")  # fmt: skip
    plain = tmp_path / "plain.csv"
    np.savetxt(plain, rows, delimiter=",", header="a,b,c", comments="", fmt="%.6f")
    data = load_data(DataConfig(source=str(labelled), label_column="label"))
    with_labels = load_like(data.config, data.spec, labelled)
    without = load_like(data.config, data.spec, plain)
    assert with_labels.y is not None and without.y is None
    assert torch.equal(with_labels.x, without.x)
