"""Bits-back coding with the hierarchical VAE: exact round trips, layout-free files, the
rate against the model's ELBO, and what the hierarchical coder refuses."""

import hashlib
import math

import numpy as np
import pytest
import torch

from tests.cli.conftest import run_main
from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.compression import compress, decompress
from vaekit.compression.bitsback import NUM_SEED_WORDS, chunk_bounds
from vaekit.compression.bitsback_hierarchical import CHUNK_RAMP
from vaekit.compression.container import MAGIC, unpack
from vaekit.compression.hierarchy import HierarchicalCodingNetworks
from vaekit.data import DataConfig, load_data
from vaekit.errors import ConfigError, DataError
from vaekit.models import HierarchicalVAE, HVAEConfig, save_model
from vaekit.training import TrainConfig, fit


@pytest.fixture(scope="module")
def digits_hvae(tmp_path_factory):
    """A 3-layer hvae after 10 epochs on binarized digits, the 359 test images (0/1), and
    its run directory."""
    data = load_data(DataConfig(source="digits", binarize="dynamic"))
    torch.manual_seed(0)
    config = HVAEConfig(
        input_shape=(1, 8, 8), latent_dim=4, hidden_dims=(64,), state_dim=32, num_latent_layers=3
    )
    model = HierarchicalVAE(config)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module fixtures start before one_thread; see single_thread.py
    try:
        fit(model, data, TrainConfig(epochs=10, batch_size=64, lr=3e-3, seed=0))
    finally:
        torch.set_num_threads(threads)
    model.eval()
    run_dir = tmp_path_factory.mktemp("runs") / "hvae"
    save_model(model, run_dir)
    return model, data.test.x.numpy().astype(np.uint8), run_dir


def random_hvae(seed: int = 0, arch: str = "mlp") -> HierarchicalVAE:
    """An untrained 28x28 hvae: enough where only the coder's exactness is under test."""
    torch.manual_seed(seed)
    config = HVAEConfig(
        input_shape=(1, 28, 28),
        latent_dim=3,
        hidden_dims=(32,),
        conv_channels=(4, 8),
        arch=arch,
        state_dim=16,
        num_latent_layers=3,
    )
    return HierarchicalVAE(config).eval()


def neg_elbo_bits(model, stored: np.ndarray, samples: int = 16) -> float:
    """The float32 model's negative ELBO, bits per image, averaged over `samples` draws."""
    x = torch.from_numpy(stored.astype(np.float32)).view(-1, *model.config.input_shape)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x, generator=g) for _ in range(samples)]).mean()
    return float(-elbo) / math.log(2)


def test_round_trip_is_exact_and_the_rate_is_near_the_elbo(digits_hvae):
    model, stored, _ = digits_hvae
    # an 8x8 image costs ~40 bits net while popping its 12 latents reads ~90: chunks of 16
    # never pop more than the seed and the images before them left on the stack, so the
    # initial bits are seed words only (larger chunks would run the stack dry and cost
    # more: docs/compression.md)
    data = compress(model, stored, batch_size=16)
    assert np.array_equal(decompress(model, data), stored)
    header, payload = unpack(data)
    assert header.mode == "hierarchical"
    overhead = (len(data) - 4 * payload.size) * 8 + 32 * (NUM_SEED_WORDS - header.seed_kept)
    rate = (len(data) * 8 - overhead) / stored.shape[0]
    target = neg_elbo_bits(model, stored)
    assert 0.98 * target < rate < 1.02 * target, (rate, target)


def test_a_tampered_payload_is_refused(digits_hvae):
    model, stored, _ = digits_hvae
    data = compress(model, stored[:50])
    body = bytearray(data[:-32])
    body[-5] ^= 0x01  # a payload word near the top of the stack, checksum recomputed
    forged = bytes(body) + hashlib.sha256(bytes(body)).digest()
    with pytest.raises(DataError):
        decompress(model, forged)


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_files_do_not_depend_on_network_pass_layout_or_threads(arch):
    model = random_hvae(arch=arch)
    array = np.random.default_rng(1).random((70, 28, 28)) < 0.4
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        reference = compress(model, array, batch_size=32)
        torch.set_num_threads(1)
        for rows in (1, 7):
            assert compress(model, array, batch_size=32, rows_per_pass=rows) == reference
        restored = decompress(model, reference, rows_per_pass=5)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(restored, array)


def test_exact_networks_stay_close_to_the_float_model():
    model = random_hvae()
    x = (np.random.default_rng(2).random((20, 784)) < 0.3).astype(np.int32)
    networks = HierarchicalCodingNetworks(model)
    with torch.no_grad():
        float_features = model.features(torch.from_numpy(x).float().view(-1, 1, 28, 28))
        float_posterior = model.encode(torch.from_numpy(x).float().view(-1, 1, 28, 28))
    for exact, reference in zip(networks.features(x), float_features):
        assert np.abs(exact - reference.double().numpy()).max() < 1e-3
    # the top layer's posterior is in N(0, 1) units already
    mean, log_var = networks.posterior_at(
        0,
        networks.initial_state(20),
        networks.features(x)[0],
        networks.prior_at(0, networks.initial_state(20)),
    )
    assert np.abs(mean - float_posterior.loc[:, :3].double().numpy()).max() < 1e-3
    assert np.abs(log_var - float_posterior.log_var[:, :3].double().numpy()).max() < 1e-3


def test_hierarchical_files_are_version_2_and_single_layer_files_stay_version_1():
    from tests.compression.conftest import random_vae

    bits = np.random.default_rng(0).random((3, 28, 28)) < 0.5
    for model, version in ((random_hvae(), 2), (random_vae("bernoulli"), 1)):
        data = compress(model, bits)
        assert int.from_bytes(data[len(MAGIC) : len(MAGIC) + 2], "little") == version


def test_what_the_hierarchical_coder_refuses():
    bits = np.zeros((2, 28, 28), dtype=np.uint8)
    with pytest.raises(ConfigError, match="lossy mode .* hierarchical"):
        compress(random_hvae(), bits, lossy=True)
    torch.manual_seed(0)
    mog = HVAEConfig(
        input_shape=(1, 28, 28), latent_dim=2, hidden_dims=(8,), state_dim=8, prior="mog"
    )
    with pytest.raises(ConfigError, match="standard_normal"):
        compress(HierarchicalVAE(mog), bits)


def test_command_line_round_trip_and_bench_codecs_row(digits_hvae, tmp_path, capsys):
    _, stored, run_dir = digits_hvae
    np.save(tmp_path / "x.npy", stored[:100])
    before = torch.get_num_threads()
    try:
        code, _, err = run_main(capsys, "compress", run_dir, tmp_path / "x.npy", "-o",
                                tmp_path / "x.vkz", "--threads", "2", "--batch-size", "16",
                                "--quiet")  # fmt: skip
        assert code == 0, err
        code, _, err = run_main(capsys, "decompress", run_dir, tmp_path / "x.vkz", "-o",
                                tmp_path / "y.npy", "--threads", "1", "--quiet")  # fmt: skip
        assert code == 0, err
        code, out, err = run_main(capsys, "bench-codecs", run_dir, "--limit", "100",
                                  "--no-generic")  # fmt: skip
    finally:
        torch.set_num_threads(before)
    assert code == 0, err
    assert np.array_equal(np.load(tmp_path / "y.npy"), stored[:100])
    row = next(line for line in out.splitlines() if line.startswith("| vaekit bits-back"))
    assert "bits-back over 3 latent layers" in row and float(row.split("|")[2]) > 0


def test_hierarchical_chunks_grow_by_half_so_the_stack_keeps_up():
    bounds = chunk_bounds(2000, 256, CHUNK_RAMP)
    sizes = [b - a for a, b in bounds]
    assert sizes[:8] == [1, 2, 3, 4, 6, 9, 13, 19] and max(sizes) == 256
    assert bounds[0][0] == 0 and bounds[-1][1] == 2000
    assert all(a == b for (_, a), (b, _) in zip(bounds, bounds[1:]))
    # past the few images the seed covers, a chunk is about half of the images before it
    assert all(b - a <= 0.53 * a for a, b in bounds if a >= 25)
