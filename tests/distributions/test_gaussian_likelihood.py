import math

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
