"""iterate_batches and binarize_batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaekit.data import Split, binarize_batch, iterate_batches
from vaekit.data.binarize import binarize_once
from vaekit.errors import ConfigError


def _split(num=23, labelled=True):
    x = torch.arange(num, dtype=torch.float32).reshape(num, 1).repeat(1, 3)
    return Split(x, torch.arange(num) if labelled else None)


def _order(batches):
    return torch.cat([x[:, 0] for x, _ in batches]).long().tolist()


def test_shuffle_covers_every_example_once_and_keeps_pairs():
    split = _split()
    batches = list(
        iterate_batches(split, 5, shuffle=True, generator=torch.Generator().manual_seed(0))
    )
    assert [len(x) for x, _ in batches] == [5, 5, 5, 5, 3]
    assert sorted(_order(batches)) == list(range(23))
    assert _order(batches) != list(range(23))
    for x, y in batches:
        assert torch.equal(x[:, 0].long(), y)


def test_seeded_generator_is_deterministic():
    split = _split()
    runs = [
        _order(iterate_batches(split, 4, shuffle=True, generator=torch.Generator().manual_seed(s)))
        for s in (7, 7, 8)
    ]
    assert runs[0] == runs[1] != runs[2]


def test_no_shuffle_and_drop_last():
    split = _split(labelled=False)
    batches = list(iterate_batches(split, 5, shuffle=False, drop_last=True))
    assert _order(batches) == list(range(20))
    assert all(y is None for _, y in batches)
    shuffled = list(iterate_batches(split, 5, shuffle=True, drop_last=True))
    assert [len(x) for x, _ in shuffled] == [5, 5, 5, 5]


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size(batch_size):
    with pytest.raises(ConfigError, match="batch_size"):
        next(iterate_batches(_split(), batch_size, shuffle=False))


def test_binarize_batch_values_and_mean():
    x = torch.rand(400, 784, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    b = binarize_batch(x, generator=torch.Generator().manual_seed(1))
    assert b.dtype == x.dtype and b.shape == x.shape
    assert set(b.unique().tolist()) <= {0.0, 1.0}
    assert abs(b.mean().item() - x.mean().item()) < 0.005
    assert torch.equal(b, binarize_batch(x, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(binarize_batch(torch.ones(3, 4)), torch.ones(3, 4))
    assert torch.equal(binarize_batch(torch.zeros(3, 4)), torch.zeros(3, 4))


def test_binarize_once_matches_one_protocol_call():
    x = np.random.RandomState(5).rand(9000, 2, 3, 2).astype(np.float32)  # > one chunk of rows
    expected = np.random.RandomState(0).random_sample((9000, 12)) < x.reshape(9000, 12)
    np.testing.assert_array_equal(binarize_once(x, 0).reshape(9000, 12), expected)


def test_binarize_batch_frequencies_per_pixel_and_independence():
    """Each pixel's frequency of 1s matches its probability over many draws, for sizes that
    do not fill whole 64-bit words, and neighbouring pixels (slices of one word) are
    uncorrelated."""
    probs = torch.tensor([0.0, 1e-3, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0, 0.3, 0.6, 0.05])
    x = probs.repeat(20_000, 1)  # 220,000 pixels, 11 per row: rows straddle words
    generator = torch.Generator().manual_seed(3)
    b = binarize_batch(x, generator=generator)
    freq = b.mean(0)
    tolerance = 4 * torch.sqrt(probs * (1 - probs) / x.shape[0]) + 1e-4
    assert torch.all((freq - probs).abs() <= tolerance), (freq, probs)
    assert freq[0] == 0.0 and freq[7] == 1.0
    centred = b[:, [3, 4, 5]] - probs[[3, 4, 5]]
    correlation = (centred[:, :-1] * centred[:, 1:]).mean(0) / 0.25
    assert torch.all(correlation.abs() < 0.03), correlation


def test_binarize_batch_half_precision_uses_float_noise():
    x = torch.full((64, 10), 0.5, dtype=torch.float16)
    b = binarize_batch(x, generator=torch.Generator().manual_seed(0))
    assert b.dtype == torch.float16 and set(b.unique().tolist()) == {0.0, 1.0}
