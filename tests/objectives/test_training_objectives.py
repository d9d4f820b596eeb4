"""Free bits and the IWAE training objective, checked against hand-written formulas."""

import math

import pytest
import torch
import torch.distributions as td

from vaekit.errors import ConfigError
from vaekit.models import VAE, VAEConfig
from vaekit.objectives import batch_loss, free_bits_kl, iwae_bound
from vaekit.training import TrainConfig, fit


def small_vae(seed=0):
    torch.manual_seed(seed)
    return VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=4, hidden_dims=(16,)))


def binary_batch(size=32):
    return (torch.rand(size, 1, 8, 8, generator=torch.Generator().manual_seed(1)) < 0.4).float()


def test_free_bits_floor_each_group_at_its_batch_mean():
    kl_groups = torch.tensor([[0.1, 2.0, 0.0], [0.3, 4.0, 0.2]], requires_grad=True)
    value = free_bits_kl(kl_groups, 0.5)
    # batch means 0.2, 3.0, 0.1 -> floored at 0.5, 3.0, 0.5
    assert value.item() == pytest.approx(4.0)
    value.backward()
    # only the group above its floor passes gradient, 1/B to each of its examples
    assert torch.equal(kl_groups.grad, torch.tensor([[0.0, 0.5, 0.0], [0.0, 0.5, 0.0]]))


def test_elbo_loss_with_free_bits_uses_per_dimension_kl():
    model, x = small_vae(), binary_batch()
    posterior, lam = model.encode(x), 0.3
    oracle_q = td.Normal(posterior.mean, posterior.std)
    per_dim = td.kl_divergence(oracle_q, td.Normal(0.0, 1.0))  # (B, D)
    loss, rec, kl = batch_loss(model, x, free_bits=lam, generator=torch.Generator().manual_seed(2))
    terms = model.training_terms(x, generator=torch.Generator().manual_seed(2))
    expected = -terms.log_px_given_z.mean() + per_dim.mean(0).clamp(min=lam).sum()
    assert torch.allclose(loss, expected, rtol=1e-5)
    assert torch.allclose(kl, per_dim.sum(1).mean(), rtol=1e-5)
    assert torch.allclose(rec, -terms.log_px_given_z.mean())
    plain, _, _ = batch_loss(model, x, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(plain, -terms.elbo.mean())
    assert loss >= plain - 1e-5  # the floor only ever adds


def test_iwae_loss_is_minus_the_iwae_bound_on_the_same_draws():
    model, x = small_vae(), binary_batch()
    for k in (1, 5):
        loss, rec, kl = batch_loss(
            model, x, objective="iwae", num_samples=k, generator=torch.Generator().manual_seed(3)
        )
        bound = iwae_bound(
            x,
            model.encode(x),
            model.prior(),
            model.decode,
            k,
            generator=torch.Generator().manual_seed(3),
        )
        assert torch.allclose(loss, -bound.mean(), rtol=1e-6)
        assert torch.isfinite(rec) and torch.isfinite(kl)


def test_iwae_loss_averages_below_elbo_loss_and_falls_with_k():
    model, x = small_vae(), binary_batch(64)
    g = torch.Generator().manual_seed(4)
    with torch.no_grad():
        losses = {
            k: torch.stack(
                [
                    batch_loss(model, x, objective="iwae", num_samples=k, generator=g)[0]
                    for _ in range(50)
                ]
            )
            .mean()
            .item()
            for k in (1, 10, 100)
        }
        elbo_loss = (
            torch.stack([batch_loss(model, x, generator=g)[0] for _ in range(50)]).mean().item()
        )
    assert losses[1] == pytest.approx(elbo_loss, abs=0.1)  # K = 1 is the ELBO
    assert losses[1] > losses[10] > losses[100]


def test_kl_weight_scales_the_density_ratio_inside_iwae():
    model, x = small_vae(), binary_batch()
    terms = model.importance_terms(x, 4, generator=torch.Generator().manual_seed(5))
    weights = terms.log_px_given_z - 0.25 * terms.log_density_ratio
    expected = -(torch.logsumexp(weights, 0) - math.log(4)).mean()
    loss, _, _ = batch_loss(
        model,
        x,
        kl_weight=0.25,
        objective="iwae",
        num_samples=4,
        generator=torch.Generator().manual_seed(5),
    )
    assert torch.allclose(loss, expected)


def test_train_config_validates_objective_fields():
    with pytest.raises(ConfigError, match="objective"):
        TrainConfig(objective="vimco")
    with pytest.raises(ConfigError, match="free_bits"):
        TrainConfig(objective="iwae", free_bits=0.5)
    with pytest.raises(ConfigError, match="iw_train_samples"):
        TrainConfig(iw_train_samples=0)
    config = TrainConfig(objective="iwae", iw_train_samples=5)
    assert TrainConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "config", [TrainConfig(objective="iwae", iw_train_samples=4), TrainConfig(free_bits=0.25)]
)
def test_fit_improves_the_elbo_with_each_objective(digits, config):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,)))
    base = dict(config.to_dict(), epochs=3, batch_size=64, lr=3e-3)
    state = fit(model, digits, TrainConfig.from_dict(base))
    elbos = [row["val_elbo_nats"] for row in state.history]
    assert elbos[-1] > elbos[0] and all(math.isfinite(e) for e in elbos)
