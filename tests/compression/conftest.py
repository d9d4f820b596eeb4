"""Small Fashion-MNIST VAEs trained once per session, and test slices to code with them."""

from pathlib import Path

import numpy as np
import pytest
import torch

from vaekit.data import DataConfig, load_data
from vaekit.models import VAE, VAEConfig
from vaekit.training import TrainConfig, fit

FMNIST = Path("/usr/share/datasets/fashion-mnist")
needs_fmnist = pytest.mark.skipif(not FMNIST.is_dir(), reason="Fashion-MNIST not installed")


def _train(binarize: str, likelihood: str) -> tuple[VAE, np.ndarray]:
    """A 784-128-8 VAE after 3 epochs on 3,000 images, and 200 test images as stored values."""
    data = load_data(
        DataConfig(source="fashion-mnist", binarize=binarize, train_limit=3000, eval_limit=200)
    )
    torch.manual_seed(0)
    config = VAEConfig(
        input_shape=(1, 28, 28), latent_dim=8, hidden_dims=(128,), likelihood=likelihood
    )
    model = VAE(config)
    fit(model, data, TrainConfig(epochs=3, batch_size=64, lr=2e-3, seed=0))
    model.eval()
    test = data.test.x.numpy()
    stored = test.astype(np.uint8) if binarize != "none" else np.rint(test * 255).astype(np.uint8)
    return model, stored


@pytest.fixture(scope="session")
def binary_model():
    if not FMNIST.is_dir():
        pytest.skip("Fashion-MNIST not installed")
    return _train("dynamic", "bernoulli")


@pytest.fixture(scope="session")
def levels_model():
    if not FMNIST.is_dir():
        pytest.skip("Fashion-MNIST not installed")
    return _train("none", "discretized_logistic")


def random_vae(likelihood: str = "bernoulli", seed: int = 0, arch: str = "mlp") -> VAE:
    """An untrained 28x28 VAE: enough where only the coder's exactness is under test."""
    torch.manual_seed(seed)
    config = VAEConfig(
        input_shape=(1, 28, 28),
        latent_dim=6,
        hidden_dims=(64,),
        conv_channels=(8, 16),
        arch=arch,
        likelihood=likelihood,
    )
    return VAE(config).eval()
