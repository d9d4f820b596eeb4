"""Integer-valued table columns get uniform noise: detection, scaling, once and per batch."""

import numpy as np
import torch

from vaekit.data import DataConfig, DataSpec, dequantize_batch, load_data, noise_widths
from vaekit.data.dequantize import UNIFORM_VARIANCE, integer_columns


def _table(tmp_path, x, **config):
    path = tmp_path / "t.npy"
    np.save(path, x)
    return load_data(DataConfig(source=str(path), **config))


def _mixed_table(num_rows=400):
    rng = np.random.RandomState(0)
    return np.column_stack(
        [
            rng.normal(3.0, 2.0, num_rows),  # continuous
            rng.randint(0, 2, num_rows),  # 0/1 flag
            rng.poisson(4.0, num_rows),  # counts
            np.full(num_rows, 9.0),  # a constant integer column
        ]
    ).astype(np.float64)


def test_integer_columns_are_found():
    assert integer_columns(_mixed_table()) == (1, 2, 3)
    assert integer_columns(np.array([[0.5, 1.0], [1.5, 2.0]])) == (1,)


def test_val_and_test_are_dequantized_once_within_half_a_step(tmp_path):
    x = _mixed_table()
    splits = _table(tmp_path, x)
    spec = splits.spec
    assert spec.dequantized_columns == (1, 2, 3)
    assert "integer columns [1, 2, 3] dequantized" in spec.scaling
    mean, std = np.array(spec.feature_mean), np.array(spec.feature_std)
    for split in (splits.val, splits.test):
        raw = split.x.double().numpy() * std + mean
        offsets = raw[:, 1:] - np.round(raw[:, 1:])
        assert np.all(np.abs(offsets) <= 0.5 + 1e-5)
        assert np.abs(offsets).mean() > 0.1  # noise was added, not rounded away
    train_raw = splits.train.x.double().numpy() * std + mean
    np.testing.assert_allclose(train_raw[:, 1:], np.round(train_raw[:, 1:]), atol=1e-4)
    # the same values on every load: every model is scored on the same rows
    again = _table(tmp_path, x)
    assert torch.equal(again.test.x, splits.test.x)


def test_std_is_that_of_the_noisy_values_and_never_zero(tmp_path):
    splits = _table(tmp_path, _mixed_table())
    spec = splits.spec
    std = np.array(spec.feature_std)
    counts = np.round(splits.train.x[:, 2].double().numpy() * std[2] + spec.feature_mean[2])
    assert std[3] == np.sqrt(UNIFORM_VARIANCE)  # the constant column: U(-1/2, 1/2) alone
    assert abs(std[2] ** 2 - (counts.var() + UNIFORM_VARIANCE)) < 1e-6


def test_dequantize_false_keeps_the_integers(tmp_path):
    splits = _table(tmp_path, _mixed_table(), dequantize=False)
    assert splits.spec.dequantized_columns is None
    assert noise_widths(splits.spec) is None


def test_batch_noise_spans_one_integer_step_in_standardized_units(tmp_path):
    splits = _table(tmp_path, _mixed_table())
    widths = noise_widths(splits.spec)
    std = torch.tensor(splits.spec.feature_std, dtype=torch.float32)
    assert widths[0] == 0 and torch.allclose(widths[1:], 1 / std[1:])
    x = splits.train.x
    noisy = dequantize_batch(x, widths, generator=torch.Generator().manual_seed(0))
    steps = (noisy - x) * std  # back in raw units
    assert torch.equal(noisy[:, 0], x[:, 0])
    assert steps[:, 1:].abs().max() <= 0.5 + 1e-5 and steps[:, 1:].abs().mean() > 0.2


def test_spec_round_trip_and_validation():
    spec = DataSpec(
        shape=(2,), kind="table", binarize="none", levels=None, source="t", scaling="s",
        feature_mean=(0.0, 0.0), feature_std=(1.0, 2.0), dequantized_columns=(1,),
    )  # fmt: skip
    assert DataSpec.from_dict(spec.to_dict()) == spec
    bad = {**spec.to_dict(), "dequantized_columns": [5]}
    try:
        DataSpec.from_dict(bad)
    except Exception as err:  # noqa: BLE001 - the message is what is checked
        assert "dequantized_columns" in str(err)
    else:
        raise AssertionError("an out-of-range column index was accepted")


def test_a_constant_non_integer_column_is_named_in_a_warning(tmp_path, caplog):
    x = _mixed_table()
    x[:, 0] = 0.25  # holds no information; integer constants are dequantized instead
    with caplog.at_level("WARNING", logger="vaekit.data.load"):
        _table(tmp_path, x)
    assert "column(s) [0] hold one value" in caplog.text
    assert "[3]" not in caplog.text
