"""Chunk ramps: a model whose latents carry nothing pops the stack dry with doubling chunks;
the codec then takes a slower ramp, names it in the header (format version 4), and codes
near the model's negative ELBO instead of paying for the dry pops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vaekit.compression import compress, decompress
from vaekit.compression.bitsback import (
    RAMPS,
    StackRanDryError,
    chunk_bounds,
    compress_symbols,
)
from vaekit.compression.comparison import negative_elbo_nats
from vaekit.compression.container import RAMP_VERSION, Header, pack, unpack
from vaekit.compression.networks import CodingNetworks
from vaekit.compression.symbols import to_symbols
from vaekit.errors import DataError
from vaekit.models import VAE, VAEConfig


def prior_posterior_vae(latent_dim: int = 16) -> VAE:
    """A VAE on 8x8 binary images whose posterior is N(0, I) for every input (encoder
    weights and biases zero): each image pops `precision` bits a latent and its latents
    push the same back, so only the few bits of its pixels grow the stack."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=latent_dim, hidden_dims=(32,)))
    with torch.no_grad():
        for parameter in model.encoder.parameters():
            parameter.zero_()
    return model.eval()


def images(count: int = 600) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((count, 1, 8, 8)) < 0.1).astype(np.uint8)


def test_a_dry_stack_takes_a_slower_ramp_and_codes_near_the_elbo() -> None:
    model, x = prior_posterior_vae(), images()
    data = compress(model, x, precision=12)
    header, _ = unpack(data)
    assert header.ramp > 0 and header.version == RAMP_VERSION
    assert np.array_equal(decompress(model, data), x)
    elbo_bits = negative_elbo_nats(model, torch.from_numpy(x).float()) * x.shape[0] / math.log(2)
    assert len(data) * 8 < 1.05 * elbo_bits + 4096  # header, seed and the first chunk's pops
    # doubling chunks, forced: the pops of every image beyond the seed end up in the file
    networks = CodingNetworks(model)
    symbols = to_symbols(x, networks.levels, networks.input_shape)
    doubling, _ = compress_symbols(networks, symbols, precision=12, batch_size=256)
    assert doubling.size * 32 > 1.5 * len(data) * 8


def test_stop_if_dry_raises_and_the_last_ramp_is_used_anyway() -> None:
    networks = CodingNetworks(prior_posterior_vae())
    symbols = to_symbols(images(), networks.levels, networks.input_shape)
    with pytest.raises(StackRanDryError):
        compress_symbols(networks, symbols, precision=12, batch_size=256, stop_if_dry=True)
    payload, _ = compress_symbols(networks, symbols, precision=12, batch_size=256,
                                  ramp=RAMPS[-1])  # fmt: skip
    assert payload.size > 0


def test_an_eight_bit_model_on_a_dry_ramp_round_trips_tree_coded() -> None:
    torch.manual_seed(0)
    config = VAEConfig(input_shape=(1, 8, 8), latent_dim=64, hidden_dims=(32,),
                       likelihood="discretized_logistic")  # fmt: skip
    model = VAE(config)
    with torch.no_grad():
        for parameter in model.encoder.parameters():
            parameter.zero_()
    model.eval()
    x = np.random.default_rng(1).integers(0, 4, (300, 1, 8, 8)).astype(np.uint8)
    data = compress(model, x)
    header, _ = unpack(data)
    assert header.tree_coded and header.ramp > 0
    assert np.array_equal(decompress(model, data), x)


def test_a_model_that_fills_the_stack_keeps_doubling_and_format_version_1(binary_model) -> None:
    model, stored = binary_model
    header, _ = unpack(compress(model, stored[:200]))
    assert header.ramp == 0 and header.version == 1


def test_slower_ramps_still_reach_the_batch_size() -> None:
    for ramp in RAMPS:
        bounds = chunk_bounds(50_000, 256, ramp)
        sizes = [stop - start for start, stop in bounds]
        assert sizes[0] == 1 and max(sizes) == 256 and bounds[-1][1] == 50_000
        assert all(b >= a for a, b in zip(sizes, sizes[1:-1]))


def test_the_ramp_field_round_trips_and_out_of_range_ramps_are_refused() -> None:
    for tree_coded in (False, True):
        header = Header("lossless", 12, 256, 3, "ab" * 32, "|u1", (5, 1, 8, 8),
                        tree_coded=tree_coded, ramp=2)  # fmt: skip
        packed = pack(header, np.arange(1, 4, dtype=np.uint32))
        assert unpack(packed)[0] == header and header.version == RAMP_VERSION
    plain = Header("lossless", 12, 256, 3, "ab" * 32, "|u1", (5, 1, 8, 8))
    assert len(pack(plain, np.ones(1, np.uint32))) == len(pack(header, np.ones(1, np.uint32))) - 1
    model, x = prior_posterior_vae(), images(50)
    header, payload = unpack(compress(model, x, precision=12))
    beyond = Header(**{**header.__dict__, "ramp": len(RAMPS)})
    with pytest.raises(DataError, match="ramp"):
        decompress(model, pack(beyond, payload))
