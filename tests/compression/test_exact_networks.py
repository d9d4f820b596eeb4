import numpy as np
import pytest
import torch

from tests.compression.conftest import random_vae
from vaekit.compression.networks import CodingNetworks
from vaekit.errors import ConfigError


def outputs(networks: CodingNetworks, x: np.ndarray, z: np.ndarray):
    mean, log_var = networks.posterior(x)
    return mean, log_var, networks.likelihood_params(z)


@pytest.mark.parametrize(
    "likelihood,levels,arch",
    [("bernoulli", 2, "mlp"), ("discretized_logistic", 256, "mlp"), ("bernoulli", 2, "conv")],
)
def test_outputs_do_not_depend_on_batch_layout_or_threads(likelihood, levels, arch):
    model = random_vae(likelihood, arch=arch)
    rng = np.random.default_rng(0)
    x = rng.integers(0, levels, (300, 784)).astype(np.int32)
    z = np.round(rng.normal(size=(300, 6)) * 2**16) / 2**16
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        reference = outputs(CodingNetworks(model), x, z)
        torch.set_num_threads(1)
        for rows in (1, 7, 128):
            other = outputs(CodingNetworks(model, rows_per_pass=rows), x, z)
            for a, b in zip(reference, other):
                assert a.tobytes() == b.tobytes(), f"rows_per_pass={rows} changed a bit"
    finally:
        torch.set_num_threads(before)


def test_exact_networks_stay_close_to_the_float_model():
    model = random_vae("discretized_logistic")
    x = np.random.default_rng(2).integers(0, 256, (50, 784)).astype(np.int32)
    with torch.no_grad():
        float_mean = model.encode(torch.from_numpy(x / 255).float().view(-1, 1, 28, 28)).mean
    exact_mean, _ = CodingNetworks(model).posterior(x)
    assert np.abs(exact_mean - float_mean.double().numpy()).max() < 1e-3


def test_models_the_coder_cannot_run_exactly_are_refused():
    torch.manual_seed(0)
    from vaekit.models import VAE, VAEConfig

    cases = ({"activation": "tanh"}, {"likelihood": "gaussian"}, {"arch": "resconv"})
    for kwargs in cases:
        shape = (1, 8, 8) if kwargs.get("arch") == "resconv" else (4,)
        config = VAEConfig(input_shape=shape, latent_dim=2, hidden_dims=(8,), **kwargs)
        with pytest.raises(ConfigError):
            CodingNetworks(VAE(config))
