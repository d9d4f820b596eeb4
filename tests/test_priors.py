"""The learned mixture prior: its density against torch.distributions, its Monte Carlo KL,
and both models trained with it."""

import pytest
import torch
import torch.distributions as td

from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.distributions import kl
from vaekit.models import VAE, HierarchicalVAE, HVAEConfig, VAEConfig, load_model, save_model
from vaekit.priors import GaussianMixture


def mixture(seed=0, components=3, dim=2):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(components, generator=g)
    means = 2 * torch.randn(components, dim, generator=g)
    log_vars = 0.5 * torch.randn(components, dim, generator=g)
    return GaussianMixture(logits, means, log_vars), (logits, means, log_vars)


def test_log_prob_matches_torch_mixture_same_family():
    ours, (logits, means, log_vars) = mixture()
    oracle = td.MixtureSameFamily(
        td.Categorical(logits=logits),
        td.Independent(td.Normal(means, torch.exp(0.5 * log_vars)), 1),
    )
    value = torch.randn(7, 5, 2, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(ours.log_prob(value), oracle.log_prob(value), atol=1e-5)


def test_samples_follow_the_mixture():
    ours, _ = mixture()
    z = ours.rsample_n(40_000, generator=torch.Generator().manual_seed(2))
    assert z.shape == (40_000, 2)
    assert torch.allclose(z.mean(0), ours.mean, atol=0.05)


def test_monte_carlo_kl_to_a_one_component_mixture_matches_the_analytic_kl():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=3, hidden_dims=(16,), prior="mog"))
    with torch.no_grad():  # collapse the mixture onto N(0, I)
        model.prior_module.means.zero_()
        model.prior_module.log_vars.zero_()
    x = (torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(3)) < 0.4).float()
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        estimate = torch.stack([model.training_terms(x, generator=g).kl for _ in range(3000)])
        analytic = kl(model.encode(x), VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=3)).prior())
    assert torch.allclose(estimate.mean(0), analytic, atol=0.05)


@pytest.mark.parametrize("cls,config_class", [(VAE, VAEConfig), (HierarchicalVAE, HVAEConfig)])
def test_models_with_a_mixture_prior_train_sample_and_round_trip(tmp_path, cls, config_class):
    torch.manual_seed(0)
    model = cls(config_class(input_shape=(1, 8, 8), latent_dim=3, hidden_dims=(16,), prior="mog"))
    x = (torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(5)) < 0.4).float()
    terms = model.training_terms(x, generator=torch.Generator().manual_seed(6))
    (-terms.elbo.mean()).backward()
    for name in ("logits", "means", "log_vars"):
        prior = model.prior_module if cls is VAE else model.top_prior
        assert getattr(prior, name).grad.abs().sum() > 0, name
    assert model.sample(4, generator=torch.Generator().manual_seed(7)).shape == (4, 1, 8, 8)
    assert torch.isfinite(model.log_likelihood(x, 20)).all()
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    g1, g2 = torch.Generator().manual_seed(8), torch.Generator().manual_seed(8)
    assert torch.equal(model.elbo(x, generator=g1), loaded.elbo(x, generator=g2))
