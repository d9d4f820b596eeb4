import math

import numpy as np
import pytest
import torch

from tests.compression.conftest import random_vae
from vaekit.compression import compress, decompress
from vaekit.compression.bitsback import chunk_bounds


def neg_elbo_bits(model, stored: np.ndarray, levels: int, samples: int = 8) -> float:
    """The float32 model's negative ELBO, bits per image, averaged over `samples` draws."""
    x = torch.from_numpy(stored.astype(np.float32) / (levels - 1)).view(-1, 1, 28, 28)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x, generator=g) for _ in range(samples)]).mean()
    return float(-elbo) / math.log(2)


@pytest.mark.parametrize("fixture,levels", [("binary_model", 2), ("levels_model", 256)])
def test_lossless_round_trip_is_bit_exact_and_near_the_elbo(request, fixture, levels):
    model, stored = request.getfixturevalue(fixture)
    data = compress(model, stored, batch_size=64)
    assert np.array_equal(decompress(model, data), stored)
    rate = len(data) * 8 / stored.shape[0]
    target = neg_elbo_bits(model, stored, levels)
    # 200 images: the header and initial bits are ~1,500 bits, ~7.5 bits per image
    assert rate < 1.01 * target + 1500 / stored.shape[0], (rate, target)
    assert rate > 0.95 * target, (rate, target)


def test_two_threads_one_layout_then_one_thread_another(binary_model):
    model, stored = binary_model
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        data = compress(model, stored, batch_size=128, rows_per_pass=None)
        torch.set_num_threads(1)
        restored = decompress(model, data, rows_per_pass=3)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(restored, stored)


@pytest.mark.parametrize(
    "make",
    [
        lambda r: r.random((9, 28, 28)) < 0.5,  # bool
        lambda r: (r.random((9, 1, 28, 28)) < 0.5).astype(np.float32),
        lambda r: (r.random((2, 9, 784)) < 0.5).astype(np.int64),
        lambda r: (r.random((28, 28)) < 0.5).astype(">f8"),  # one image, big-endian
    ],
)
def test_dtype_and_shape_come_back_unchanged(make):
    array = make(np.random.default_rng(0))
    model = random_vae("bernoulli")
    restored = decompress(model, compress(model, array))
    assert restored.dtype == array.dtype and restored.shape == array.shape
    assert restored.tobytes() == array.tobytes()


def test_eight_bit_floats_as_vaekit_loads_them_come_back_exactly():
    levels = np.random.default_rng(0).integers(0, 256, (5, 1, 28, 28))
    array = levels.astype(np.float32) / np.float32(255)
    model = random_vae("discretized_logistic")
    assert decompress(model, compress(model, array)).tobytes() == array.tobytes()


def test_chunks_start_small_and_cover_every_example():
    bounds = chunk_bounds(1000, 256)
    assert [b - a for a, b in bounds[:4]] == [1, 2, 4, 8]
    assert bounds[0][0] == 0 and bounds[-1][1] == 1000
    assert all(a == b for (_, a), (b, _) in zip(bounds, bounds[1:]))
    assert max(b - a for a, b in bounds) == 256
