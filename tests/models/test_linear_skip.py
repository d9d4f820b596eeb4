"""linear_skip: a linear path beside the MLPs, so the VAE contains factor analysis."""

import pytest
import torch

from vaekit import VAE, VAEConfig
from vaekit.errors import ConfigError
from vaekit.models import load_model, save_model


def test_linear_skip_starts_as_the_plain_mlp_and_round_trips(tmp_path):
    torch.manual_seed(0)
    plain = VAE(VAEConfig(input_shape=(6,), latent_dim=3, hidden_dims=(8,), likelihood="gaussian"))
    torch.manual_seed(0)
    skip = VAE(VAEConfig(input_shape=(6,), latent_dim=3, hidden_dims=(8,), likelihood="gaussian",
                         linear_skip=True))  # fmt: skip
    x = torch.randn(4, 6)
    # zero-initialized: the same function at the start, but a trainable linear path
    assert torch.allclose(plain.encode(x).mean, skip.encode(x).mean)
    assert skip.encoder.skip.weight.requires_grad and skip.decoder.skip.weight.shape == (6, 3)
    with torch.no_grad():
        skip.decoder.skip.weight.normal_()
    save_model(skip, tmp_path)
    loaded = load_model(tmp_path)
    z = torch.randn(4, 3)
    assert torch.equal(loaded.decode(z).mean, skip.decode(z).mean)


def test_linear_path_alone_is_factor_analysis():
    """With the MLP's output layer zeroed, decoder means are exactly W z + b."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(5,), latent_dim=2, hidden_dims=(4,), likelihood="gaussian",
                          linear_skip=True))  # fmt: skip
    last = model.decoder.mlp.layers[-1]
    with torch.no_grad():
        last.weight.zero_()
        model.decoder.skip.weight.normal_()
    z = torch.randn(7, 2)
    expected = z @ model.decoder.skip.weight.T + last.bias
    assert torch.allclose(model.decode(z).mean, expected, atol=1e-6)


def test_linear_skip_needs_the_mlp():
    with pytest.raises(ConfigError, match="linear_skip applies to arch 'mlp'"):
        VAEConfig(input_shape=(1, 8, 8), arch="conv", linear_skip=True)
