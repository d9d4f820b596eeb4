import math

import pytest
import torch

from vaekit.likelihoods import GaussianHead


def test_gaussian_head_log_prob_matches_formula_and_learns_scale():
    head = GaussianHead((3,), learn_scale=True, init_log_var=math.log(0.25))
    mean = torch.tensor([[0.0, 1.0, 2.0]])
    x = torch.tensor([[0.5, 1.0, 1.0]])
    expected = sum(
        -0.5 * math.log(2 * math.pi * 0.25) - (a - b) ** 2 / (2 * 0.25)
        for a, b in zip(x[0], mean[0])
    )
    value = head(mean).log_prob(x)
    assert abs(value.item() - float(expected)) < 1e-5
    value.sum().backward()
    assert head.log_var.grad is not None and head.log_var.grad.abs().sum() > 0


def test_fixed_scale_is_a_buffer_not_a_parameter():
    head = GaussianHead((2,), learn_scale=False, init_log_var=0.0)
    assert list(head.parameters()) == []
    assert "log_var" in head.state_dict()


def test_variance_cannot_collapse_below_the_floor():
    from vaekit.likelihoods.heads import MIN_LOG_VAR, MIN_STD

    head = GaussianHead((2,), learn_scale=True, init_log_var=0.0)
    with torch.no_grad():
        head.log_var.fill_(-1e4)  # what a collapsing optimizer would drive it towards
    x = torch.zeros(1, 2)
    value = head(x).log_prob(x)  # the density's peak
    peak = 2 * (-0.5 * math.log(2 * math.pi) - MIN_LOG_VAR / 2)
    assert torch.isfinite(value) and value.item() <= peak + 1e-4
    assert abs(value.item() - peak) < 1e-3
    assert math.exp(MIN_LOG_VAR / 2) == pytest.approx(MIN_STD)


def test_start_fits_the_data_scale():
    # standardized table columns start at std 1, images in [0, 1] at std 0.1
    assert torch.allclose(GaussianHead((5,))(torch.zeros(1, 5)).log_var, torch.zeros(5), atol=1e-5)
    image = GaussianHead((1, 4, 4))(torch.zeros(1, 1, 4, 4)).log_var
    assert torch.allclose(image, torch.full((1, 4, 4), 2 * math.log(0.1)), atol=1e-3)
