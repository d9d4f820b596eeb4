"""CSV tables: header, numeric cells, label column."""

from __future__ import annotations

import numpy as np
import pytest

from vaekit.data import DataConfig, load_data
from vaekit.errors import DataError


def _write(tmp_path, text):
    path = tmp_path / "t.csv"
    path.write_text(text)
    return str(path)


def _rows(num=20):
    rng = np.random.RandomState(0)
    return [(rng.normal(), rng.normal() * 10 + 3, i % 3) for i in range(num)]


def test_csv_with_labels(tmp_path):
    rows = _rows()
    text = "a,b,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)
    splits = load_data(DataConfig(source=_write(tmp_path, text), label_column="label"))
    assert splits.spec.shape == (2,) and splits.spec.kind == "table"
    assert splits.spec.num_classes == 3
    total = len(splits.train) + len(splits.val) + len(splits.test)
    assert total == 20
    mean = np.array(splits.spec.feature_mean)
    std = np.array(splits.spec.feature_std)
    by_value = {(round(a, 5), round(b, 5)): c for a, b, c in rows}
    for split in (splits.train, splits.val, splits.test):
        raw = split.x.numpy().astype(np.float64) * std + mean
        for (a, b), label in zip(raw, split.y.numpy()):
            assert by_value[(round(a, 5), round(b, 5))] == label


def test_csv_without_labels(tmp_path):
    splits = load_data(DataConfig(source=_write(tmp_path, "a,b,c\n" + "1,2,3\n4,5,6\n" * 5)))
    assert splits.spec.shape == (3,) and splits.train.y is None


@pytest.mark.parametrize(
    ("text", "label_column", "match"),
    [
        ("a,b\n1,2\n3,x\n5,6\n", None, r"row 3, column 'b'.*'x'"),
        ("a,b\n1,2\n3,4\n5,6\n", "label", r"no label column 'label'.*\['a', 'b'\]"),
        ("1,2\n3,4\n5,6\n7,8\n", None, "header"),
        ("", None, "empty"),
        ("a,b\n1,2\n3\n5,6\n", None, "row 3 has 1 cells"),
        ("a,b\n1,2\n3,nan\n5,6\n", None, "1 non-finite"),
        ("a,y\n1,0.5\n3,1\n5,2\n", "y", "integers"),
        ("a,b\n", None, "no examples"),
    ],
)
def test_bad_csv(tmp_path, text, label_column, match):
    config = DataConfig(source=_write(tmp_path, text), label_column=label_column)
    with pytest.raises(DataError, match=match) as info:
        load_data(config)
    assert "\n" not in str(info.value)
