"""The learned mixture prior and the VampPrior: densities against torch.distributions, the
Monte Carlo KL, models trained with them, copies and round trips."""

import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.distributions as td

from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.cli.main import EXIT_USER_ERROR, main
from vaekit.distributions import kl
from vaekit.errors import ConfigError
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


def vamp_vae(num_pseudo_inputs=5, seed=0):
    torch.manual_seed(seed)
    config = VAEConfig(input_shape=(1, 8, 8), latent_dim=3, hidden_dims=(16,), prior="vamp",
                       num_pseudo_inputs=num_pseudo_inputs)  # fmt: skip
    return VAE(config)


def test_vamp_density_is_the_mean_of_the_pseudo_inputs_posteriors():
    model = vamp_vae()
    u = model.prior_module.pseudo_inputs.detach()
    assert u.shape == (5, 1, 8, 8)
    # the posterior at each pseudo-input, straight from the encoder's numbers
    mean, log_var = model.encoder(u).chunk(2, dim=-1)
    components = td.Independent(td.Normal(mean, torch.exp(0.5 * log_var)), 1)
    z = torch.randn(11, 3, generator=torch.Generator().manual_seed(1))
    by_hand = torch.logsumexp(components.log_prob(z.unsqueeze(1)), dim=1) - math.log(5)
    with torch.no_grad():
        assert torch.allclose(model.prior().log_prob(z), by_hand, atol=1e-5)


def test_gradients_of_the_elbo_reach_the_pseudo_inputs():
    model = vamp_vae()
    x = (torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2)) < 0.4).float()
    terms = model.training_terms(x, generator=torch.Generator().manual_seed(3))
    (-terms.elbo.mean()).backward()
    grad = model.prior_module.pseudo_inputs.grad
    assert grad is not None and (grad.abs().sum(dim=(1, 2, 3)) > 0).all()  # every u_k moves


def test_vamp_save_load_round_trip(tmp_path):
    model = vamp_vae(num_pseudo_inputs=4)
    with torch.no_grad():  # weights unlike any fresh build's
        model.prior_module.pseudo_inputs.uniform_()
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.config.num_pseudo_inputs == 4
    assert torch.equal(loaded.prior_module.pseudo_inputs, model.prior_module.pseudo_inputs)
    x = (torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(5)) < 0.4).float()
    g1, g2 = torch.Generator().manual_seed(8), torch.Generator().manual_seed(8)
    assert torch.equal(model.elbo(x, generator=g1), loaded.elbo(x, generator=g2))
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert torch.equal(model.sample(3, generator=g1), loaded.sample(3, generator=g2))


def test_a_deep_copy_encodes_pseudo_inputs_with_its_own_encoder():
    model = vamp_vae()
    twin = copy.deepcopy(model)
    assert twin.prior_module.model is twin
    # the module tree holds no cycle: each module once, the model not among the prior's
    assert len(list(model.modules())) == len({id(m) for m in model.modules()})
    assert list(model.prior_module.children()) == []
    before = model.prior().components.loc.detach().clone()
    with torch.no_grad():
        twin.encoder.mlp.layers[0].bias.add_(1.0)
    assert torch.equal(model.prior().components.loc, before)  # the original is untouched
    mean, _ = twin.encoder(twin.prior_module.pseudo_inputs).chunk(2, dim=-1)
    assert torch.equal(twin.prior().components.loc, mean)
    assert not torch.equal(twin.prior().components.loc, before)


def test_pseudo_inputs_are_validated_and_only_apply_to_the_vamp_prior():
    config = VAEConfig(input_shape=(4,), prior="vamp", num_pseudo_inputs=3)
    assert VAEConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert VAEConfig(input_shape=(4,)).num_pseudo_inputs == 500  # the paper's K
    with pytest.raises(ConfigError, match=r"num_pseudo_inputs \(3\) applies to prior 'vamp'"):
        VAEConfig(input_shape=(4,), prior="mog", num_pseudo_inputs=3)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ConfigError, match="num_pseudo_inputs"):
            VAEConfig(input_shape=(4,), prior="vamp", num_pseudo_inputs=bad)
    with pytest.raises(ConfigError, match="prior 'vamp' does not apply"):
        HVAEConfig(input_shape=(4,), prior="vamp")


def test_cli_trains_a_vamp_prior_and_refuses_pseudo_inputs_without_it(tmp_path, capsys):
    data = tmp_path / "images.npy"
    np.save(data, (np.random.default_rng(0).random((40, 1, 8, 8)) < 0.4).astype(np.float32))
    argv = ["train", "--data", str(data), "--epochs", "1", "--latent-dim", "2",
            "--hidden-dims", "8", "--val-size", "8", "--batch-size", "16", "--quiet"]  # fmt: skip
    out = tmp_path / "vamp"
    assert main([*argv, "--out", str(out), "--prior", "vamp", "--pseudo-inputs", "6"]) == 0
    model = load_model(out)
    assert model.config.prior == "vamp" and model.prior_module.pseudo_inputs.shape[0] == 6
    capsys.readouterr()
    code = main([*argv, "--out", str(tmp_path / "mog"), "--prior", "mog", "--pseudo-inputs", "6"])
    assert code == EXIT_USER_ERROR
    assert capsys.readouterr().err == (
        "vaekit: error: --pseudo-inputs (6) applies to prior 'vamp' only, not 'mog'\n"
    )
    code = main([*argv, "--out", str(tmp_path / "ae"), "--model", "ae", "--pseudo-inputs", "6"])
    assert code == EXIT_USER_ERROR
    assert (
        capsys.readouterr().err == "vaekit: error: --pseudo-inputs does not apply to --model ae\n"
    )
