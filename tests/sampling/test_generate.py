import pytest
import torch

from vaekit.errors import ConfigError
from vaekit.models import AE, VAE, AEConfig, VAEConfig
from vaekit.sampling import interpolate, prior_samples, reconstructions, slerp, traverse


@pytest.fixture
def vae():
    torch.manual_seed(0)
    return VAE(VAEConfig(input_shape=(1, 6, 6), latent_dim=3, hidden_dims=(16,))).eval()


def test_interpolation_endpoints_are_the_reconstructions(vae):
    x = torch.rand(2, 1, 6, 6)
    path = interpolate(vae, x[0], x[1], 5)
    assert path.shape == (5, 1, 6, 6)
    ends = reconstructions(vae, x)
    assert torch.allclose(path[0], ends[0], atol=1e-6) and torch.allclose(
        path[-1], ends[1], atol=1e-6
    )
    slerped = interpolate(vae, x[0], x[1], 5, method="slerp")
    assert torch.allclose(slerped[0], ends[0], atol=1e-5)


def test_slerp_keeps_endpoints_and_unit_norm():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-6)


def test_traverse_varies_only_the_chosen_coordinate(vae):
    x = torch.rand(1, 6, 6)
    values = torch.linspace(-2, 2, 4)
    grid = traverse(vae, x, [1], values)
    z = vae.encode(x[None]).mean[0].repeat(4, 1)
    z[:, 1] = values
    assert torch.allclose(grid, vae.decode(z).mean, atol=1e-6)
    with pytest.raises(ConfigError):
        traverse(vae, x, [3], values)


def test_prior_samples_follow_temperature_and_refuse_an_ae(vae):
    a = prior_samples(vae, 4, temperature=1e-6, generator=torch.Generator().manual_seed(0))
    mean_decode = vae.decode(torch.zeros(1, 3)).mean
    assert torch.allclose(a, mean_decode.expand_as(a), atol=1e-4)  # z ~ N(0, tiny) is z ~ 0
    with pytest.raises(ConfigError, match="no prior"):
        prior_samples(AE(AEConfig(input_shape=(1, 6, 6), latent_dim=3)), 2)
