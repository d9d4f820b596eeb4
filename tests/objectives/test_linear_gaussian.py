"""A linear-Gaussian VAE, whose log p(x) is known in closed form, checks the bounds.

p(z) = N(0, I), p(x|z) = N(W z + b, s^2 I). With W's columns orthogonal the true posterior is a
diagonal Gaussian, so a linear encoder can represent it exactly.
"""

import math

import pytest
import torch
import torch.distributions as td

from vaekit.models import VAE, VAEConfig
from vaekit.objectives import iwae_bound

DATA_DIM, LATENT_DIM, NOISE_VAR = 6, 3, 0.3


def linear_gaussian_vae(encoder_error: float = 0.0) -> tuple[VAE, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    config = VAEConfig(
        input_shape=(DATA_DIM,), latent_dim=LATENT_DIM, hidden_dims=(), likelihood="gaussian"
    )
    model = VAE(config)
    q, _ = torch.linalg.qr(torch.randn(DATA_DIM, LATENT_DIM))
    W = q * torch.tensor([2.0, 1.0, 0.5])  # orthogonal columns, distinct scales
    b = torch.randn(DATA_DIM)
    post_var = 1.0 / (1.0 + (W**2).sum(0) / NOISE_VAR)  # diagonal since W^T W is diagonal
    A = post_var[:, None] * W.T / NOISE_VAR
    with torch.no_grad():
        decoder = model.decoder.mlp.layers[0]
        decoder.weight.copy_(W)
        decoder.bias.copy_(b)
        model.likelihood.log_var.fill_(math.log(NOISE_VAR))
        encoder = model.encoder.mlp.layers[0]
        encoder.weight.zero_()
        encoder.weight[:LATENT_DIM] = A * (1.0 + encoder_error)
        encoder.bias[:LATENT_DIM] = -(A * (1.0 + encoder_error)) @ b
        encoder.bias[LATENT_DIM:] = torch.log(post_var) + encoder_error
    return model, W, b


def true_log_px(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    covariance = W @ W.T + NOISE_VAR * torch.eye(DATA_DIM)
    return td.MultivariateNormal(b, covariance).log_prob(x)


def data(model: VAE, num: int = 64) -> torch.Tensor:
    return model.sample(num, generator=torch.Generator().manual_seed(1)) + math.sqrt(
        NOISE_VAR
    ) * torch.randn(num, DATA_DIM, generator=torch.Generator().manual_seed(2))


def test_exact_posterior_makes_every_importance_weight_log_px():
    model, W, b = linear_gaussian_vae()
    x = data(model)
    truth = true_log_px(x, W, b)
    for k, chunk in ((1, None), (10, 3), (100, 100)):
        bound = iwae_bound(x, model.encode(x), model.prior(), model.decode, k, chunk_size=chunk)
        assert torch.allclose(bound, truth, atol=1e-3)
    averaged_elbo = torch.stack(
        [model.elbo(x, generator=torch.Generator().manual_seed(s)) for s in range(400)]
    ).mean(0)
    # ELBO = log p(x) - KL(q || true posterior) = log p(x) in expectation when q is exact
    assert abs(averaged_elbo.mean().item() - truth.mean().item()) < 0.05


def test_elbo_below_log_px_and_iwae_rises_with_k_towards_it():
    model, W, b = linear_gaussian_vae(encoder_error=0.6)
    x = data(model, 128)
    truth = true_log_px(x, W, b).mean().item()
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        elbo = torch.stack([model.elbo(x, generator=g) for _ in range(200)]).mean().item()
        bounds = {
            k: model.log_likelihood(x, k=k, chunk_size=64, generator=g).mean().item()
            for k in (10, 100, 1000)
        }
        # K = 1 is a one-sample ELBO estimate: average many to compare with the analytic-KL ELBO
        bounds[1] = torch.stack([model.log_likelihood(x, k=1, generator=g) for _ in range(100)])
        bounds[1] = bounds[1].mean().item()
    assert elbo < truth - 0.2  # a wrong posterior leaves a visible gap
    assert bounds[1] == pytest.approx(elbo, abs=0.1)
    assert bounds[1] < bounds[10] < bounds[100] < bounds[1000] <= truth + 0.02
    assert truth - bounds[1000] < 0.25 * (truth - bounds[1])
