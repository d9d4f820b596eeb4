"""The discretized logistic mixture against a brute-force sum over its 256 bins."""

from __future__ import annotations

import numpy as np
import torch

from vaekit.likelihoods import LIKELIHOODS
from vaekit.likelihoods.discretized_logistic import DiscretizedLogistic
from vaekit.likelihoods.logistic_mixture import NUM_COMPONENTS, DiscretizedLogisticMixture

ALL_BINS = torch.arange(256, dtype=torch.float64) / 255  # (256,)
# (mixture logits, locations, log-scales) of one value; M = 3 components
PARAMS = [
    ([0.0, 1.0, -1.0], [0.05, 0.5, 0.95], [-4.0, -3.0, -5.0]),
    ([2.0, -3.0, 0.5], [-0.2, 0.3, 1.3], [-2.0, -6.5, -1.0]),
    ([0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [-3.0, -3.0, -3.0]),
]


def brute_force_probabilities(logits, loc, log_scale) -> np.ndarray:
    """P(k), k = 0..255, straight from the definition: sum_m w_m (F_m(upper) - F_m(lower)),
    edge bins taking the tails; float64 numpy, independent of the code under test."""
    weights = np.exp(logits) / np.exp(logits).sum()
    edges = (np.arange(257) - 0.5) / 255
    edges[0], edges[-1] = -np.inf, np.inf
    probs = np.zeros(256)
    for w, mu, s in zip(weights, loc, np.exp(log_scale), strict=True):
        cdf = 1 / (1 + np.exp(-(edges - mu) / s))
        probs += w * np.diff(cdf)
    return probs


def one_value(logits, loc, log_scale, copies=256) -> DiscretizedLogisticMixture:
    """`copies` rows of one value's mixture, (copies, M, 1), so row k can score bin k."""

    def tile(v):
        return torch.tensor(v, dtype=torch.float64)[None, :, None].expand(copies, -1, 1)

    return DiscretizedLogisticMixture(tile(logits), tile(loc), tile(log_scale), event_ndim=1)


def test_log_prob_matches_brute_force_and_sums_to_one():
    for params in PARAMS:
        ours = one_value(*params).log_prob(ALL_BINS[:, None]).exp().numpy()
        expected = brute_force_probabilities(*map(np.array, params))
        np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-15)
        assert abs(ours.sum() - 1.0) < 1e-9


def test_mean_and_mode_agree_with_the_probabilities():
    for params in PARAMS:
        dist = one_value(*params, copies=1)
        probs = brute_force_probabilities(*map(np.array, params))
        assert abs(dist.mean.item() - float((probs * ALL_BINS.numpy()).sum())) < 1e-9
        # ties (a location halfway between two bins) may pick either bin
        assert probs[round(dist.mode.item() * 255)] >= probs.max() * (1 - 1e-9)


def test_sample_frequencies_match_probabilities():
    params = PARAMS[0]
    dist = one_value(*params, copies=200_000)
    draws = dist.sample(generator=torch.Generator().manual_seed(0))
    counts = np.bincount(np.round(draws.numpy().ravel() * 255).astype(int), minlength=256)
    expected = brute_force_probabilities(*map(np.array, params)) * draws.numel()
    # chi-square over bins expecting >= 20 draws; 3 sigma of its distribution
    keep = expected >= 20
    chi2 = float((((counts - expected) ** 2) / expected)[keep].sum())
    dof = int(keep.sum()) - 1
    assert chi2 < dof + 3 * np.sqrt(2 * dof), (chi2, dof)
    assert counts[~keep].sum() < 3 * max(expected[~keep].sum(), 10)


def test_one_dominant_component_is_the_plain_discretized_logistic():
    loc, log_scale = torch.full((4, 1, 3), 0.4), torch.full((4, 1, 3), -3.0)
    x = torch.rand(4, 3, generator=torch.Generator().manual_seed(0))
    single = DiscretizedLogisticMixture(torch.zeros(4, 1, 3), loc, log_scale, event_ndim=1)
    plain = DiscretizedLogistic(loc[:, 0], log_scale[:, 0], event_ndim=1)
    torch.testing.assert_close(single.log_prob(x), plain.log_prob(x))
    torch.testing.assert_close(single.mean, plain.mean)


def test_head_splits_features_into_logits_locations_and_scales():
    head = LIKELIHOODS["discretized_logistic_mixture"]((2, 3, 3))
    assert head.params_per_dim == 3 * NUM_COMPONENTS
    features = torch.randn(5, head.params_per_dim * 2, 3, 3)
    dist = head(features)
    assert dist.batch_shape == (5,) and dist.event_shape == (2, 3, 3)
    x = torch.randint(0, 256, (5, 2, 3, 3)).float() / 255
    assert dist.log_prob(x).shape == (5,) and torch.isfinite(dist.log_prob(x)).all()
    assert dist.mean.shape == dist.mode.shape == dist.sample().shape == x.shape
    # the first M * C channels are the mixture logits of the values, component-major
    logits = features[:, : NUM_COMPONENTS * 2].reshape(5, NUM_COMPONENTS, 2, 3, 3)
    torch.testing.assert_close(dist.log_weights, torch.log_softmax(logits, dim=1))
