"""The conditional VAE: log p(x | y) against numerical integration, labels in every method."""

import math

import pytest
import torch
import torch.distributions as td

from tests.single_thread import one_thread  # noqa: F401
from vaekit.errors import ConfigError
from vaekit.models import ConditionalVAE, CVAEConfig
from vaekit.sampling import class_interpolation

CLASSES = 3


def tiny_cvae(latent_dim=1, arch="mlp", shape=(1, 2, 2)):
    torch.manual_seed(0)
    config = CVAEConfig(
        input_shape=shape,
        latent_dim=latent_dim,
        arch=arch,
        hidden_dims=(8,),
        conv_channels=(4,),
        num_classes=CLASSES,
    )
    return ConditionalVAE(config)


def binary(rows, seed=1):
    return (torch.rand(rows, 1, 2, 2, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def exact_log_px_given_y(model, x, label):
    """log integral N(z; 0, 1) p(x | z, y) dz for a 1-d latent, on a fine grid."""
    grid = torch.linspace(-9, 9, 4001)
    labels = torch.full((grid.shape[0],), label)
    log_px_z = model.decode(grid[:, None], labels).log_prob(x.expand(grid.shape[0], 1, 2, 2))
    log_integrand = (td.Normal(0.0, 1.0).log_prob(grid) + log_px_z).double()
    return torch.logsumexp(log_integrand, 0) + math.log(float(grid[1] - grid[0]))


@torch.no_grad()
def test_log_likelihood_bounds_the_integrated_log_p_x_given_y_tightly():
    model = tiny_cvae()
    x, y = binary(3, seed=4), torch.tensor([0, 2, 1])
    estimate = model.log_likelihood(x, k=3000, y=y, generator=torch.Generator().manual_seed(0))
    exact = torch.stack([exact_log_px_given_y(model, x[i : i + 1], int(y[i])) for i in range(3)])
    assert (estimate <= exact.float() + 0.02).all(), (estimate, exact)
    assert (estimate >= exact.float() - 0.1).all(), (estimate, exact)
    # the label matters: scored under another class, the same images get other values
    other = model.log_likelihood(x, k=3000, y=(y + 1) % CLASSES)
    assert not torch.allclose(estimate, other, atol=1e-3)


@torch.no_grad()
def test_importance_terms_decode_each_sample_with_its_own_examples_label():
    model = tiny_cvae(latent_dim=2)
    x, y = binary(2), torch.tensor([1, 2])
    terms = model.importance_terms(x, 3, y=y, generator=torch.Generator().manual_seed(0))
    z = model.encode(x, y).rsample_n(3, generator=torch.Generator().manual_seed(0))
    for k in range(3):
        assert torch.allclose(terms.log_px_given_z[k], model.decode(z[k], y).log_prob(x))


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@torch.no_grad()
def test_decode_takes_soft_labels(arch):
    model = tiny_cvae(latent_dim=2, arch=arch, shape=(1, 4, 4))
    z = torch.randn(2, 2, generator=torch.Generator().manual_seed(0))
    hard = model.decode(z, torch.tensor([0, 2])).mean
    soft = model.decode(z, torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])).mean
    assert torch.allclose(hard, soft)
    half = model.decode(z, torch.tensor([[0.5, 0.0, 0.5], [0.5, 0.0, 0.5]])).mean
    assert not torch.allclose(half, hard)


@torch.no_grad()
def test_class_interpolation_holds_z_per_row_and_ends_at_the_two_classes():
    model = tiny_cvae(latent_dim=2)
    grid = class_interpolation(model, 0, 2, 4, 2, generator=torch.Generator().manual_seed(0))
    assert grid.shape == (8, 1, 2, 2)
    z = torch.randn(2, 2, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(grid[0], model.decode(z[:1], torch.tensor([0])).mean[0])
    assert torch.allclose(grid[7], model.decode(z[1:], torch.tensor([2])).mean[0])


def test_labels_are_required_and_checked():
    model = tiny_cvae()
    x = binary(2)
    with pytest.raises(ConfigError, match="pass the labels y"):
        model.encode(x)
    with pytest.raises(ConfigError, match="-1, unknown, is not allowed"):
        model.training_terms(x, y=torch.tensor([0, -1]))
    with pytest.raises(ConfigError, match="label 3 is out of range"):
        model.sample(1, y=torch.tensor([3]))
    with pytest.raises(ConfigError, match="need 3 columns"):
        model.decode(torch.zeros(1, 1), torch.ones(1, 2))
