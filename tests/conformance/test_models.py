"""Every registered model, in every architecture, passes the same battery."""

import dataclasses
import inspect

import pytest
import torch

from vaekit.errors import ConfigError
from vaekit.likelihoods import BINARY_LIKELIHOODS
from vaekit.models import MODELS, LatentVariableModel, load_model, save_model
from vaekit.objectives import OBJECTIVES, batch_loss
from vaekit.priors import PRIORS
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
    names = {f.name for f in dataclasses.fields(cls.config_class)}
    if "state_dim" in names:
        fields["state_dim"] = 8
    if "num_classes" in names:
        fields["num_classes"] = NUM_CLASSES
    return cls.config_class(**fields)


NUM_CLASSES = 3
# every batch carries labels; unconditional models must ignore them, a classifying model
# must train on the labelled rows and the unlabelled (-1) ones alike
LABELS = torch.tensor([0, 1, 2, -1, 1, -1])
FULL_LABELS = torch.tensor([0, 1, 2, 0, 1, 2])


def labels_for(model, size=6):
    """The labels the model is given: every one known for a conditional model."""
    return (FULL_LABELS if model.is_conditional else LABELS)[:size]


def batch(shape, likelihood, size=6):
    x = torch.rand(size, *shape, generator=torch.Generator().manual_seed(1))
    return (x > 0.5).float() if likelihood in BINARY_LIKELIHOODS else x


@pytest.mark.parametrize("name,arch,shape,likelihood", PARAMS)
def test_shapes_and_finite_terms(name, arch, shape, likelihood):
    model = build(name, arch, shape, likelihood)
    x, y = batch(shape, likelihood), labels_for(model)
    posterior = model.encode(x, y)
    assert posterior.mean.shape == (6, model.latent_dim)
    z = posterior.rsample(generator=torch.Generator().manual_seed(0))
    assert model.decode(z, y).mean.shape == x.shape
    terms = model.training_terms(x, y=y, generator=torch.Generator().manual_seed(0))
    assert terms.log_px_given_z.shape == (6,) and terms.kl.shape == (6,)
    assert torch.isfinite(terms.elbo).all()
    assert model.reconstruct(x, y).shape == x.shape
    if model.has_likelihood_bound:
        assert (terms.kl >= 0).all()
        assert model.sample(4, y=y[:4] if model.is_conditional else None).shape == (4, *shape)
        assert model.log_likelihood(x, k=5, y=y).shape == (6,)
    if model.classifies:
        assert model.classify(x).shape == (6, NUM_CLASSES)


@pytest.mark.parametrize("name,arch,shape,likelihood", PARAMS)
def test_gradients_reach_every_parameter(name, arch, shape, likelihood):
    model = build(name, arch, shape, likelihood)
    terms = model.training_terms(
        batch(shape, likelihood), y=labels_for(model), generator=torch.Generator().manual_seed(0)
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
    x, y = batch(shape, likelihood), labels_for(model)
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    model.eval()
    assert torch.equal(
        model.training_terms(x, y=y, generator=g1).elbo,
        loaded.training_terms(x, y=y, generator=g2).elbo,
    )
    assert torch.equal(model.reconstruct(x, y), loaded.reconstruct(x, y))


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
            model,
            x,
            y=labels_for(model),
            objective=objective,
            num_samples=3,
            generator=torch.Generator(),
        )
        assert torch.isfinite(loss)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_declares_the_protocol(name):
    """A registered model subclasses the declared interface, and each method a capability
    promises works while the ones it does not promise refuse with NotImplementedError."""
    cls = MODELS[name]
    assert issubclass(cls, LatentVariableModel)
    assert not inspect.isabstract(cls), f"{name} leaves abstract methods unimplemented"
    model = build(name, "mlp", (1, 8, 8), "bernoulli")
    x, y = batch((1, 8, 8), "bernoulli"), labels_for(model)
    gated = {
        "has_likelihood_bound": [
            lambda: model.prior(),
            lambda: model.elbo(x, y=y),
            lambda: model.log_likelihood(x, k=2, y=y),
            lambda: model.sample(2, y=y[:2] if model.is_conditional else None),
        ],
        "classifies": [lambda: model.classify(x)],
    }
    for capability, calls in gated.items():
        for call in calls:
            if getattr(cls, capability):
                call()
            else:
                with pytest.raises(NotImplementedError):
                    call()
    for method in ("encode", "decode", "training_terms", "log_likelihood", "sample", "elbo"):
        parameters = inspect.signature(getattr(cls, method)).parameters
        assert "y" in parameters, f"{name}.{method} does not take the labels y"


PRIOR_PARAMS = [
    (name, prior)
    for name, cls in MODELS.items()
    if "prior" in {f.name for f in dataclasses.fields(cls.config_class)}
    for prior in PRIORS
]


@pytest.mark.parametrize("name,prior", PRIOR_PARAMS)
def test_every_prior_trains_samples_and_round_trips_or_is_refused(tmp_path, name, prior):
    """Each model with a `prior` field, under each registered prior: finite terms, gradients
    reaching every parameter (the prior's own included), sampling, an importance-weighted
    bound, and identical outputs after save_model -> load_model; or a ConfigError naming the
    prior when the model cannot use it."""
    cls = MODELS[name]
    fields = dict(input_shape=(1, 8, 8), latent_dim=3, hidden_dims=(16,), prior=prior)
    try:
        config = small_config(cls, **fields)
    except ConfigError as err:
        assert prior in str(err) and "\n" not in str(err)
        return
    torch.manual_seed(0)
    model = cls(config)
    x, y = batch((1, 8, 8), "bernoulli"), labels_for(model)
    terms = model.training_terms(x, y=y, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(terms.elbo).all()
    (-(terms.log_px_given_z - terms.kl).mean()).backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, param_name
    sample_labels = y[:4] if model.is_conditional else None
    assert model.sample(4, y=sample_labels, temperature=0.5).shape == (4, 1, 8, 8)
    assert torch.isfinite(model.log_likelihood(x, k=5, y=y)).all()
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.config == model.config
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(model.elbo(x, y=y, generator=g1), loaded.elbo(x, y=y, generator=g2))
