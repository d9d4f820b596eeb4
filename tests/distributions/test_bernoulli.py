import math

import torch
import torch.distributions as td

from vaekit.distributions import Bernoulli


def test_log_prob_matches_independent_formula_on_binary_data():
    logits = torch.tensor([[0.3, -2.0, 4.0]])
    x = torch.tensor([[1.0, 0.0, 0.0]])
    p = [1 / (1 + math.exp(-v)) for v in (0.3, -2.0, 4.0)]
    expected = math.log(p[0]) + math.log(1 - p[1]) + math.log(1 - p[2])
    assert abs(Bernoulli(logits, event_ndim=1).log_prob(x).item() - expected) < 1e-5


def test_log_prob_matches_torch_bernoulli_over_image_events():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 1, 5, 5, generator=g) * 3
    x = (torch.rand(4, 1, 5, 5, generator=g) < 0.5).float()
    oracle = td.Independent(td.Bernoulli(logits=logits), 3).log_prob(x)
    ours = Bernoulli(logits, event_ndim=3).log_prob(x)
    assert ours.shape == (4,)
    assert torch.allclose(ours, oracle, atol=1e-4)


def test_log_prob_is_stable_for_extreme_logits():
    logits = torch.tensor([[100.0, -100.0]])
    value = Bernoulli(logits, event_ndim=1).log_prob(torch.tensor([[0.0, 1.0]]))
    assert torch.isfinite(value).all()
    assert abs(value.item() + 200.0) < 1e-3


def test_grey_targets_give_cross_entropy():
    logits = torch.tensor([[0.0]])
    value = Bernoulli(logits, event_ndim=1).log_prob(torch.tensor([[0.25]]))
    assert abs(value.item() - math.log(0.5)) < 1e-6


def test_sample_frequency_and_mode():
    dist = Bernoulli(torch.full((100_000, 1), math.log(0.2 / 0.8)), event_ndim=1)
    sample = dist.sample(generator=torch.Generator().manual_seed(0))
    assert abs(sample.mean().item() - 0.2) < 0.01
    assert dist.mode.sum() == 0
