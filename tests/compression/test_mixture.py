"""Coding with the mixture of discretized logistics: its rows against the torch
distribution, the binary tree against the rows, exact round trips, and files that do not
depend on threads or pass sizes."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vaekit.compression import compress, decompress
from vaekit.compression.ans import AnsCoder
from vaekit.compression.coding_models import (
    LEVEL_ROWS,
    logistic_level_probabilities,
    mixture_level_probabilities,
    mixture_offsets,
    posterior_bucket_probabilities,
)
from vaekit.compression.container import TREE_VERSION, unpack
from vaekit.compression.level_tree import (
    BucketCdf,
    decode_levels,
    encode_levels,
    logistic_cdf,
    mixture_cdf,
)
from vaekit.compression.lossy import _mode as lossy_mode
from vaekit.likelihoods.logistic_mixture import DiscretizedLogisticMixture
from vaekit.models import VAE, VAEConfig, load_model

MIXTURE = "discretized_logistic_mixture"


def small_mixture_vae(arch: str = "mlp", seed: int = 0) -> VAE:
    """An untrained 8x8 VAE with a 5-component mixture decoder."""
    torch.manual_seed(seed)
    config = VAEConfig(
        input_shape=(1, 8, 8),
        latent_dim=4,
        hidden_dims=(32,),
        conv_channels=(4, 8),
        arch=arch,
        likelihood=MIXTURE,
    )
    return VAE(config).eval()


def uint8_images(count: int, seed: int = 0) -> np.ndarray:
    """Blurry blobs with a dark background, as uint8 (count, 1, 8, 8)."""
    rng = np.random.default_rng(seed)
    grid = np.arange(8)
    centres = rng.uniform(1, 7, (count, 2, 1, 1))
    radius = (grid[:, None] - centres[:, 0]) ** 2 + (grid[None, :] - centres[:, 1]) ** 2
    images = 255 * np.exp(-radius / 6) + rng.normal(0, 8, radius.shape)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)[:, None]


def test_mixture_rows_match_the_torch_distribution():
    rng = np.random.default_rng(0)
    n, m = 400, 5
    logits, loc = rng.normal(0, 2, (n, m)), rng.uniform(-0.2, 1.2, (n, m))
    log_scale = rng.uniform(-6, 0, (n, m))
    rows = mixture_level_probabilities(logits, loc, log_scale)
    assert rows.shape == (n, 256) and rows.min() >= 0
    rows = rows / rows.sum(axis=1, keepdims=True)
    truth = DiscretizedLogisticMixture(
        *(torch.from_numpy(a)[:, :, None].expand(n, m, 256) for a in (logits, loc, log_scale)),
        event_ndim=1,
    )
    expected = truth.elementwise_log_prob(torch.arange(256).expand(n, 256)).exp().numpy()
    assert np.abs(rows - expected).max() < 2e-4


def test_one_component_mixture_is_the_logistic():
    rng = np.random.default_rng(1)
    loc, log_scale = rng.uniform(0, 1, 50), rng.uniform(-6, -1, 50)
    mixture = mixture_level_probabilities(np.zeros((50, 1)), loc[:, None], log_scale[:, None])
    assert np.array_equal(mixture, logistic_level_probabilities(loc, log_scale))


def test_mixture_rows_do_not_depend_on_how_values_are_sliced():
    rng = np.random.default_rng(2)
    params = rng.normal(0, 1, (3, 15, 64))  # (B, 3 M, D)
    rows = LEVEL_ROWS[MIXTURE](params)
    whole = rows(slice(None))
    parts = np.concatenate([rows(slice(i, i + 7)) for i in range(0, 192, 7)])
    assert whole.tobytes() == parts.tobytes()


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_round_trip_is_exact_and_costs_the_negative_elbo(arch):
    model, images = small_mixture_vae(arch), uint8_images(300)
    data = compress(model, images, batch_size=64)
    assert np.array_equal(decompress(model, data), images)
    x = torch.from_numpy(images.astype(np.float32) / 255)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x, generator=generator) for _ in range(8)]).mean()
    target = -float(elbo) / math.log(2) * images.shape[0]
    # header, checksum and initial bits: a few hundred bits for the whole set
    assert 0.97 * target < len(data) * 8 < 1.02 * target + 1500, (len(data) * 8, target)


def test_files_are_identical_across_threads_and_pass_sizes():
    model, images = small_mixture_vae(), uint8_images(50, seed=3)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        reference = compress(model, images, batch_size=16)
        torch.set_num_threads(1)
        assert compress(model, images, batch_size=16, rows_per_pass=5) == reference
        assert np.array_equal(decompress(model, reference, rows_per_pass=3), images)
    finally:
        torch.set_num_threads(before)


def test_lossy_decoding_gives_the_mixture_mode():
    rng = np.random.default_rng(4)
    params = rng.normal(0, 1.5, (2, 15, 30))  # (B, 3 M, D): logits, locs, log-scales
    params[:, 10:] -= 3.0
    logits, loc, log_scale = (
        torch.from_numpy(part) for part in np.split(params.reshape(2, 3, 5, 30), 3, axis=1)
    )
    offsets = torch.from_numpy(mixture_offsets(5))[None, :, None]
    truth = DiscretizedLogisticMixture(logits[:, 0], loc[:, 0] + offsets, log_scale[:, 0], 1)
    expected = torch.round(truth.mode * 255).to(torch.int32).numpy()
    assert np.array_equal(lossy_mode(MIXTURE, params), expected)


def test_lossy_round_trip_keeps_dtype_and_shape():
    model, images = small_mixture_vae(), uint8_images(20, seed=4)
    restored = decompress(model, compress(model, images, lossy=True, latent_bits=6))
    assert restored.shape == images.shape and restored.dtype == np.uint8


def test_the_tree_codes_each_level_with_the_mixture_probability():
    """The 8 binary decisions' product is the level's probability (the rows, normalized),
    and pushing then popping returns the levels."""
    rng = np.random.default_rng(5)
    params = rng.normal(0, 1.5, (4, 15, 40))  # (B, 3 M, D)
    params[:, 10:] -= 2.0
    cdf = mixture_cdf(params)
    levels = rng.integers(0, 256, 160).astype(np.int32)
    rows = LEVEL_ROWS[MIXTURE](params)(slice(None))
    expected = rows[np.arange(160), levels] / rows.sum(axis=1)
    assert np.abs(cdf(levels + 1) - cdf(levels)) / cdf.total == pytest.approx(expected, abs=1e-9)
    coder = AnsCoder()
    encode_levels(coder, levels, cdf)
    # the ANS code length is the information content, up to a few bits of slack
    information = -np.log2(expected).sum()
    assert information - 1 < coder.num_bits() < information + 64
    assert np.array_equal(decode_levels(coder, 160, mixture_cdf(params)), levels)


def test_the_tree_codes_the_single_logistic_at_its_row_probabilities():
    rng = np.random.default_rng(6)
    params = np.stack([rng.uniform(-0.1, 1.1, (3, 50)), rng.normal(-2.0, 0.5, (3, 50))], axis=1)
    cdf = logistic_cdf(params)
    levels = rng.integers(0, 256, 150).astype(np.int32)
    rows = LEVEL_ROWS["discretized_logistic"](params)(slice(None))
    expected = rows[np.arange(150), levels]
    assert cdf(levels + 1) - cdf(levels) == pytest.approx(expected, abs=1e-9)
    coder = AnsCoder()
    encode_levels(coder, levels, cdf)
    information = -np.log2(expected).sum()
    assert information - 1 < coder.num_bits() < information + 64
    assert np.array_equal(decode_levels(coder, 150, logistic_cdf(params)), levels)


LEVELS_V1 = Path(__file__).parent / "data" / "format_v1_levels"


@pytest.mark.parametrize("name", ["logistic", "mixture"])
def test_files_with_levels_in_rows_still_decode_and_new_ones_are_version_3(name):
    # written (make_golden.py) by vaekit before 8-bit levels went down the tree: format
    # version 1, one 256-entry row per pixel
    model = load_model(LEVELS_V1 / f"model_{name}")
    images = np.load(LEVELS_V1 / "images.npy")
    old = (LEVELS_V1 / f"lossless_{name}.vkz").read_bytes()
    assert unpack(old)[0].version == 1
    assert np.array_equal(decompress(model, old), images)
    new = compress(model, images)
    assert unpack(new)[0].version == TREE_VERSION and new != old
    assert np.array_equal(decompress(model, new), images)
    # lossy files code no levels: still version 1
    assert unpack(compress(model, images, lossy=True))[0].version == 1


def test_latent_buckets_down_the_tree_cost_their_posterior_mass():
    rng = np.random.default_rng(7)
    mean, log_var = rng.normal(0, 1, 300), rng.uniform(-6, 0, 300)
    cdf = BucketCdf(mean, log_var, 10)
    rows = posterior_bucket_probabilities(mean, log_var, 10)
    buckets = np.array([rng.choice(1024, p=row / row.sum()) for row in rows], dtype=np.int32)
    assert cdf(buckets + 1) - cdf(buckets) == pytest.approx(rows[np.arange(300), buckets], abs=1e-9)
    coder = AnsCoder()
    encode_levels(coder, buckets, cdf, num_bits=10)
    information = -np.log2(rows[np.arange(300), buckets]).sum()
    assert information - 1 < coder.num_bits() < information + 64
    assert np.array_equal(decode_levels(coder, 300, BucketCdf(mean, log_var, 10), 10), buckets)
