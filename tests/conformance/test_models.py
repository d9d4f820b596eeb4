"""Every registered model, in every architecture, passes the same battery."""

import dataclasses

import pytest
import torch

from vaekit.errors import ConfigError
from vaekit.likelihoods import BINARY_LIKELIHOODS
from vaekit.models import MODELS, load_model, save_model
from vaekit.objectives import OBJECTIVES, batch_loss
from vaekit.training import TrainConfig, TrainState

CASES = [
    ("mlp", (1, 8, 8), "bernoulli"),
    ("conv", (1, 8, 8), "bernoulli"),
    ("conv", (3, 7, 9), "gaussian"),
    ("mlp", (5,), "gaussian"),
    ("mlp", (1, 8, 8), "discretized_logistic"),
    ("conv", (1, 8, 8), "discretized_logistic"),
    ("mlp", (1, 8, 8), "discretized_logistic_mixture"),
    ("conv", (3, 7, 9), "discretized_logistic_mixture"),
    ("resconv", (1, 8, 8), "bernoulli"),
    ("resconv", (3, 7, 9), "gaussian"),
    ("mlp", (1, 8, 8), "bernoulli_ar"),
    ("conv", (1, 8, 8), "bernoulli_ar"),
]
PARAMS = [(name, *case) for name in MODELS for case in CASES]


def build(name, arch, shape, likelihood):
    torch.manual_seed(0)
    cls = MODELS[name]
    config = small_config(
        cls,
        input_shape=shape,
        latent_dim=3,
        arch=arch,
        hidden_dims=(16,),
        conv_channels=(4, 8),
        likelihood=likelihood,
    )
    return cls(config)


def small_config(cls, **fields):
    """The model's config with small sizes; a model's own extra fields keep their defaults,
    except the widths a hierarchical VAE adds, kept small too."""
    if "state_dim" in {f.name for f in dataclasses.fields(cls.config_class)}:
        fields["state_dim"] = 8
    return cls.config_class(**fields)


def batch(shape, likelihood, size=6):
    x = torch.rand(size, *shape, generator=torch.Generator().manual_seed(1))
    return (x > 0.5).float() if likelihood in BINARY_LIKELIHOODS else x


@pytest.mark.parametrize("name,arch,shape,likelihood", PARAMS)
def test_shapes_and_finite_terms(name, arch, shape, likelihood):
    model = build(name, arch, shape, likelihood)
    x = batch(shape, likelihood)
    posterior = model.encode(x)
    assert posterior.mean.shape == (6, model.latent_dim)
    z = posterior.rsample(generator=torch.Generator().manual_seed(0))
    assert model.decode(z).mean.shape == x.shape
    terms = model.training_terms(x, generator=torch.Generator().manual_seed(0))
    assert terms.log_px_given_z.shape == (6,) and terms.kl.shape == (6,)
    assert torch.isfinite(terms.elbo).all()
    assert model.reconstruct(x).shape == x.shape
    if model.has_likelihood_bound:
        assert (terms.kl >= 0).all()
        assert model.sample(4).shape == (4, *shape)
        assert model.log_likelihood(x, k=5).shape == (6,)


@pytest.mark.parametrize("name,arch,shape,likelihood", PARAMS)
def test_gradients_reach_every_parameter(name, arch, shape, likelihood):
    model = build(name, arch, shape, likelihood)
    terms = model.training_terms(
        batch(shape, likelihood), generator=torch.Generator().manual_seed(0)
    )
    (-(terms.log_px_given_z - terms.kl).mean()).backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None, f"{param_name} got no gradient"
        assert param.grad.abs().sum() > 0, f"{param_name} got a zero gradient"


@pytest.mark.parametrize("name,arch,shape,likelihood", PARAMS)
def test_save_load_gives_identical_outputs(tmp_path, name, arch, shape, likelihood):
    model = build(name, arch, shape, likelihood)
    model.metadata["note"] = {"kept": True}
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert type(loaded) is type(model) and loaded.config == model.config
    assert loaded.metadata == {"note": {"kept": True}}
    x = batch(shape, likelihood)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    model.eval()
    assert torch.equal(
        model.training_terms(x, generator=g1).elbo, loaded.training_terms(x, generator=g2).elbo
    )
    assert torch.equal(model.reconstruct(x), loaded.reconstruct(x))


@pytest.mark.parametrize("name", list(MODELS))
def test_declared_objectives_train_and_the_others_are_refused(name):
    model = build(name, "mlp", (1, 8, 8), "bernoulli")
    assert set(model.training_objectives) <= set(OBJECTIVES)
    x = batch((1, 8, 8), "bernoulli")
    for objective in OBJECTIVES:
        config = TrainConfig(objective=objective, iw_train_samples=3)
        if not model.supports_objective(objective):
            with pytest.raises(ConfigError, match=rf"'{objective}'.*'{name}'"):
                TrainState.create(model, config)
            continue
        TrainState.create(model, config)
        loss, _, _ = batch_loss(
            model, x, objective=objective, num_samples=3, generator=torch.Generator()
        )
        assert torch.isfinite(loss)
