"""M2's terms against hand-computed values, its bound against numerical integration."""

import math

import pytest
import torch
import torch.distributions as td

from tests.single_thread import one_thread  # noqa: F401
from vaekit.errors import ConfigError
from vaekit.models import M2, M2Config
from vaekit.objectives import batch_loss

CLASSES = 3


def tiny_m2(latent_dim=2, weight=2.0, shape=(1, 2, 2)):
    torch.manual_seed(0)
    config = M2Config(
        input_shape=shape,
        latent_dim=latent_dim,
        hidden_dims=(8,),
        classifier_hidden_dims=(8,),
        num_classes=CLASSES,
        classifier_weight=weight,
    )
    return M2(config)


def binary(rows, shape=(1, 2, 2), seed=1):
    return (torch.rand(rows, *shape, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def class_terms_by_hand(model, x, label, eps):
    """log p(x | y, z) at z = mean + std * eps and KL(q(z|x,y) || N(0, I)) from
    torch.distributions, for one example x (1, ...) and class `label`."""
    weights = torch.nn.functional.one_hot(torch.tensor([label]), CLASSES).float()
    mean, log_var = model.encoder(x, weights).chunk(2, dim=-1)
    std = torch.exp(0.5 * log_var)
    z = mean + std * eps
    log_px = model.decode(z, torch.tensor([label])).log_prob(x)
    q, p = td.Normal(mean, std), td.Normal(torch.zeros_like(mean), torch.ones_like(std))
    return log_px[0], td.kl_divergence(q, p).sum()


def test_unlabelled_terms_sum_over_classes_and_add_the_label_kl():
    model = tiny_m2()
    x = binary(1)
    with torch.no_grad():
        terms = model.training_terms(
            x, y=torch.tensor([-1]), generator=torch.Generator().manual_seed(5)
        )
        eps = torch.randn(CLASSES, model.latent_dim, generator=torch.Generator().manual_seed(5))
        q = torch.softmax(model.classify(x), dim=-1)[0]
        per_class = [class_terms_by_hand(model, x, c, eps[c]) for c in range(CLASSES)]
    log_px = sum(q[c] * per_class[c][0] for c in range(CLASSES))
    kl_y = (q * torch.log(q * CLASSES)).sum()  # KL(q(y|x) || uniform)
    kl_total = sum(q[c] * per_class[c][1] for c in range(CLASSES)) + kl_y
    assert torch.allclose(terms.log_px_given_z, log_px.reshape(1), atol=1e-5)
    assert torch.allclose(terms.kl, kl_total.reshape(1), atol=1e-5)
    assert terms.auxiliary_loss.item() == 0.0  # no label, no classification loss


def test_labelled_terms_add_log_num_classes_and_a_weighted_cross_entropy():
    model = tiny_m2(weight=2.0)
    x = binary(1)
    with torch.no_grad():
        terms = model.training_terms(
            x, y=torch.tensor([2]), generator=torch.Generator().manual_seed(5)
        )
        eps = torch.randn(1, model.latent_dim, generator=torch.Generator().manual_seed(5))[0]
        log_px, kl_z = class_terms_by_hand(model, x, 2, eps)
        log_q = torch.log_softmax(model.classify(x), dim=-1)[0, 2]
    assert torch.allclose(terms.log_px_given_z, log_px.reshape(1), atol=1e-5)
    assert torch.allclose(terms.kl, (kl_z + math.log(CLASSES)).reshape(1), atol=1e-5)
    assert torch.allclose(terms.auxiliary_loss, (-2.0 * log_q).reshape(1), atol=1e-5)


def test_the_classification_loss_joins_the_training_loss_but_not_the_bound():
    model = tiny_m2(weight=3.0)
    x, y = binary(4), torch.tensor([0, -1, 2, -1])
    terms = model.training_terms(x, y=y, generator=torch.Generator().manual_seed(0))
    loss, reconstruction, kl = batch_loss(model, x, y=y, generator=torch.Generator().manual_seed(0))
    expected = reconstruction + kl + terms.auxiliary_loss.mean()
    assert torch.allclose(loss, expected)
    assert torch.allclose(terms.elbo, terms.log_px_given_z - terms.kl)
    assert (terms.auxiliary_loss[[1, 3]] == 0).all()
    # the batch mean is alpha times the labelled rows' mean cross-entropy
    log_q = torch.log_softmax(model.classify(x), dim=-1)
    mean_ce = -(log_q[0, 0] + log_q[2, 2]) / 2
    assert torch.allclose(terms.auxiliary_loss.mean(), 3.0 * mean_ce)


def exact_log_px(model, x):
    """log p(x) = log sum_y 1/C integral N(z; 0, 1) p(x | y, z) dz for a 1-d latent, by
    a fine grid over z (trapezoid rule)."""
    grid = torch.linspace(-9, 9, 4001)
    log_prior = td.Normal(0.0, 1.0).log_prob(grid)
    per_class = []
    for c in range(CLASSES):
        labels = torch.full((grid.shape[0],), c)
        log_px_z = model.decode(grid[:, None], labels).log_prob(
            x.expand(grid.shape[0], *x.shape[1:])
        )
        log_integrand = (log_prior + log_px_z).double()
        step = float(grid[1] - grid[0])
        per_class.append(torch.logsumexp(log_integrand, 0) + math.log(step))
    return torch.logsumexp(torch.stack(per_class), 0) - math.log(CLASSES)


@torch.no_grad()
def test_log_likelihood_is_a_tight_lower_bound_on_the_integrated_log_px():
    model = tiny_m2(latent_dim=1)
    x = binary(3, seed=4)
    estimate = model.log_likelihood(x, k=3000, generator=torch.Generator().manual_seed(0))
    exact = torch.stack([exact_log_px(model, x[i : i + 1]) for i in range(3)]).float()
    assert (estimate <= exact + 0.02).all(), (estimate, exact)
    assert (estimate >= exact - 0.1).all(), (estimate, exact)
    # U(x) bounds log p(x) in expectation: its mean over many draws lies below
    draws = model.elbo(x.repeat(2000, 1, 1, 1), generator=torch.Generator().manual_seed(0))
    assert (draws.view(2000, 3).mean(0) <= exact + 0.02).all()


@torch.no_grad()
def test_decode_takes_soft_labels_and_treats_unknown_as_uniform():
    model = tiny_m2()
    z = torch.randn(2, model.latent_dim, generator=torch.Generator().manual_seed(0))
    hard = model.decode(z, torch.tensor([1, 2])).mean
    soft = model.decode(z, torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])).mean
    assert torch.allclose(hard, soft)
    unknown = model.decode(z, torch.tensor([-1, -1])).mean
    uniform = model.decode(z, torch.full((2, CLASSES), 1 / CLASSES)).mean
    assert torch.allclose(unknown, uniform)


@torch.no_grad()
def test_sample_uses_the_given_labels_and_refuses_out_of_range_ones():
    model = tiny_m2()
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    given = model.sample(3, y=torch.tensor([0, 1, 2]), generator=g1)
    z = torch.randn(3, model.latent_dim, generator=g2)
    assert torch.allclose(given, model.decode(z, torch.tensor([0, 1, 2])).mean)
    with pytest.raises(ConfigError, match="label 3 is out of range"):
        model.sample(1, y=torch.tensor([3]))


def test_unlabelled_rows_train_the_classifier_through_the_bound():
    """Without any label, the bound alone still sends gradients into q(y|x)."""
    model = tiny_m2()
    terms = model.training_terms(binary(4), y=torch.full((4,), -1))
    (-terms.elbo.mean()).backward()
    grads = [p.grad for p in model.classifier.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_config_checks_its_classifier_fields():
    with pytest.raises(ConfigError, match="classifier_arch 'conv' needs"):
        M2Config(input_shape=(5,), classifier_arch="conv")
    with pytest.raises(ConfigError, match="classifier_weight"):
        M2Config(input_shape=(5,), classifier_weight=-1.0)
    with pytest.raises(ConfigError, match="num_classes"):
        M2Config(input_shape=(5,), num_classes=1)
    config = M2Config(input_shape=(1, 8, 8), classifier_arch="conv", num_classes=4)
    assert M2Config.from_dict(config.to_dict()) == config
    assert M2(config).classify(torch.zeros(2, 1, 8, 8)).shape == (2, 4)
