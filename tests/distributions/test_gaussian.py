import math

import pytest
import torch
import torch.distributions as td

from vaekit.distributions import DiagonalGaussian, kl, standard_normal


def make_gaussian(batch=5, dim=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(batch, dim, generator=g)
    log_var = torch.randn(batch, dim, generator=g) * 0.5
    return DiagonalGaussian(mean, log_var)


def test_log_prob_matches_torch_normal_summed_over_event():
    q = make_gaussian()
    x = torch.randn(5, 4)
    oracle = td.Independent(td.Normal(q.mean, q.std), 1).log_prob(x)
    assert torch.allclose(q.log_prob(x), oracle, atol=1e-5)
    assert q.log_prob(x).shape == (5,)


def test_log_prob_closed_form_one_dim():
    q = DiagonalGaussian(torch.tensor([[1.0]]), torch.tensor([[math.log(4.0)]]))
    expected = -0.5 * math.log(2 * math.pi * 4.0) - (3.0 - 1.0) ** 2 / (2 * 4.0)
    assert q.log_prob(torch.tensor([[3.0]])).item() == pytest.approx(expected, abs=1e-6)


def test_analytic_kl_matches_torch_and_monte_carlo():
    q = make_gaussian(batch=3, dim=6)
    p = standard_normal((6,))
    analytic = kl(q, p)
    oracle = td.kl_divergence(
        td.Independent(td.Normal(q.mean, q.std), 1),
        td.Independent(td.Normal(0.0, torch.ones(6)), 1),
    )
    assert torch.allclose(analytic, oracle, atol=1e-5)
    g = torch.Generator().manual_seed(1)
    z = q.rsample_n(200_000, generator=g)  # (K, B, D)
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).mean(0)
    assert torch.allclose(analytic, monte_carlo, rtol=0.02, atol=0.02)


def test_kl_between_two_general_gaussians_matches_torch():
    q, p = make_gaussian(seed=1), make_gaussian(seed=2)
    oracle = td.kl_divergence(
        td.Independent(td.Normal(q.mean, q.std), 1), td.Independent(td.Normal(p.mean, p.std), 1)
    )
    assert torch.allclose(kl(q, p), oracle, atol=1e-4)


def test_kl_of_identical_distributions_is_zero():
    q = make_gaussian()
    assert torch.allclose(kl(q, q), torch.zeros(5), atol=1e-6)


def test_gradients_flow_through_rsample():
    mean = torch.zeros(2, 3, requires_grad=True)
    log_var = torch.zeros(2, 3, requires_grad=True)
    z = DiagonalGaussian(mean, log_var).rsample(generator=torch.Generator().manual_seed(0))
    (z**2).sum().backward()
    assert mean.grad is not None and log_var.grad is not None
    assert mean.grad.abs().sum() > 0 and log_var.grad.abs().sum() > 0


def test_rsample_statistics_and_generator_determinism():
    q = DiagonalGaussian(torch.tensor([2.0]), torch.tensor([math.log(9.0)]))
    z = q.rsample_n(100_000, generator=torch.Generator().manual_seed(3))
    assert z.mean().item() == pytest.approx(2.0, abs=0.05)
    assert z.std().item() == pytest.approx(3.0, abs=0.05)
    a = q.rsample(generator=torch.Generator().manual_seed(7))
    b = q.rsample(generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_temperature_scales_std():
    q = make_gaussian()
    assert torch.allclose(q.with_temperature(0.5).std, 0.5 * q.std, atol=1e-6)


def test_entropy_matches_torch():
    q = make_gaussian()
    oracle = td.Independent(td.Normal(q.mean, q.std), 1).entropy()
    assert torch.allclose(q.entropy(), oracle, atol=1e-5)
