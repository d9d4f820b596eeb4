import pytest
import torch

from vaekit.data import DataConfig, load_data
from vaekit.models import VAE, VAEConfig


@pytest.fixture(scope="session")
def digits():
    return load_data(DataConfig(source="digits", binarize="dynamic"))


@pytest.fixture
def small_vae(digits):
    def build(seed: int = 0) -> VAE:
        torch.manual_seed(seed)
        return VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,)))

    return build
