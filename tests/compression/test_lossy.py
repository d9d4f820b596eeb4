import numpy as np

from tests.compression.conftest import random_vae
from vaekit.compression import compress, decompress
from vaekit.compression.container import unpack


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(peak**2 / mse))


def test_rate_is_latent_bits_per_active_latent_and_quality_grows_with_it(levels_model):
    model, stored = levels_model
    latent_dim, count = model.config.latent_dim, stored.shape[0]
    sizes, quality = {}, []
    for bits in (1, 3, 8):
        data = compress(model, stored, lossy=True, latent_bits=bits)
        _, payload = unpack(data)
        sizes[bits] = payload.size * 32
        restored = decompress(model, data)
        assert restored.shape == stored.shape and restored.dtype == stored.dtype
        quality.append(psnr(restored, stored, 255.0))
    # uniform codes over equal-mass buckets: a mask bit per latent, then exactly `bits` bits
    # per active latent per example, rounded up to 32-bit words
    active = (sizes[8] - sizes[3]) / (5 * count)
    assert 1 <= round(active) <= latent_dim and abs(active - round(active)) < 0.1
    for bits, size in sizes.items():
        assert 0 <= size - (latent_dim + count * round(active) * bits) < 96
    assert quality[0] < quality[1] < quality[2], quality
    # a trained model reconstructs: far better than a black image (~7 dB on Fashion-MNIST)
    assert quality[2] > psnr(np.zeros_like(stored), stored, 255.0) + 2.0


def test_lossy_decoding_is_deterministic_across_layouts():
    model = random_vae("bernoulli")
    array = np.random.default_rng(0).random((30, 28, 28)) < 0.3
    data = compress(model, array, lossy=True, latent_bits=5)
    assert np.array_equal(decompress(model, data), decompress(model, data, rows_per_pass=4))
