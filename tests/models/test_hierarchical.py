"""The hierarchical VAE: its ELBO, its IWAE bound and its KL groups checked against each other."""

import pytest
import torch

from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.data import DataConfig, load_data
from vaekit.models import HierarchicalVAE, HVAEConfig
from vaekit.objectives import batch_loss
from vaekit.training import TrainConfig, fit


@pytest.fixture(scope="module")
def digits():
    return load_data(DataConfig(source="digits", binarize="dynamic"))


def small_hvae(shape=(1, 8, 8), seed=0, **fields):
    torch.manual_seed(seed)
    config = HVAEConfig(
        input_shape=shape,
        latent_dim=3,
        hidden_dims=(32,),
        num_latent_layers=3,
        state_dim=24,
        **fields,
    )
    return HierarchicalVAE(config)


def binary(digits, size=64):
    return (digits.test.x[:size] > 0.5).float()


def test_iwae_bound_rises_with_k_from_the_elbo(digits):
    model, x = small_hvae(), binary(digits)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x, generator=g) for _ in range(100)]).mean().item()
        k1 = torch.stack([model.log_likelihood(x, 1, generator=g) for _ in range(100)])
        bounds = {1: k1.mean().item()}
        for k in (10, 100, 1000):
            bounds[k] = model.log_likelihood(x, k, chunk_size=250, generator=g).mean().item()
    # K = 1 is the ELBO with a Monte Carlo KL; the analytic per-layer KL has the same mean
    assert bounds[1] == pytest.approx(elbo, abs=0.15)
    assert elbo < bounds[10] < bounds[100] < bounds[1000]


def test_analytic_layer_kls_match_the_monte_carlo_density_ratio(digits):
    model, x = small_hvae(), binary(digits, 16)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        analytic = torch.stack([model.training_terms(x, generator=g).kl for _ in range(400)]).mean(
            0
        )
        sampled = model.importance_terms(x, 4000, generator=g).log_density_ratio.mean(0)
        terms = model.training_terms(x, generator=g)
    assert terms.kl_groups.shape == (16, 3)
    assert torch.allclose(terms.kl_groups.sum(-1), terms.kl)
    assert (terms.kl_groups >= 0).all()
    assert torch.allclose(analytic, sampled, atol=0.1)


def test_iwae_training_loss_is_minus_the_log_likelihood_bound(digits):
    model, x = small_hvae(), binary(digits, 32)
    loss, _, _ = batch_loss(
        model, x, objective="iwae", num_samples=7, generator=torch.Generator().manual_seed(2)
    )
    bound = model.log_likelihood(x, 7, chunk_size=None, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(loss, -bound.mean(), rtol=1e-6)


def test_decode_of_encode_follows_the_posterior_mean_path(digits):
    model, x = small_hvae(), binary(digits, 8)
    posterior = model.encode(x)
    assert posterior.mean.shape == (8, 9)
    _, steps = model.top_down(8, model.features(x), use_means=True)
    assert torch.equal(posterior.mean[:, :3], steps[0].z)
    state, _ = model.top_down(8, latents=[step.z for step in steps])
    assert torch.allclose(
        model.decode(posterior.mean).mean, model.likelihood(model.decoder(state)).mean
    )
    # the prior's density over the concatenated z is the sum of its conditionals
    expected = sum(step.prior.log_prob(step.z) for step in steps)
    assert torch.allclose(model.prior().log_prob(posterior.mean), expected)


def test_prior_samples_follow_temperature(digits):
    model = small_hvae()
    z = model.prior().rsample_n(2000, generator=torch.Generator().manual_seed(3))
    assert z.shape == (2000, 9)
    assert z[:, :3].std(0).sub(1).abs().max() < 0.1  # the top layer is N(0, I)
    _, steps = model.top_down(2000, temperature=0.5, generator=torch.Generator().manual_seed(4))
    assert steps[0].z.std(0).sub(0.5).abs().max() < 0.05
    first = model.sample(5, temperature=0.5, generator=torch.Generator().manual_seed(5))
    again = model.sample(5, temperature=0.5, generator=torch.Generator().manual_seed(5))
    assert first.shape == (5, 1, 8, 8) and torch.equal(first, again)


def test_training_improves_the_validation_elbo(digits):
    model = small_hvae(shape=digits.spec.shape)
    state = fit(model, digits, TrainConfig(epochs=3, batch_size=64, lr=3e-3, grad_clip=100.0))
    elbos = [row["val_elbo_nats"] for row in state.history]
    assert elbos[-1] > elbos[0] + 1
