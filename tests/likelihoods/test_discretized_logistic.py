import math

import mpmath
import numpy as np
import torch

from vaekit.likelihoods import LIKELIHOODS
from vaekit.likelihoods.discretized_logistic import DiscretizedLogistic, to_bins
from vaekit.models import VAE, VAEConfig

ALL_BINS = torch.arange(256, dtype=torch.float64) / 255  # (256,)


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def reference_log_probability(k: int, loc: float, scale: float) -> float:
    """log P(bin k) straight from the definition, in 200-digit arithmetic (no cancellation)."""
    mpmath.mp.dps = 200

    def cdf(edge):
        return 1 / (1 + mpmath.exp(-(mpmath.mpf(edge) - loc) / scale))

    upper = 1 if k == 255 else cdf((k + 0.5) / 255)
    lower = 0 if k == 0 else cdf((k - 0.5) / 255)
    return float(mpmath.log(upper - lower))


def one_pixel(loc: float, log_scale: float) -> DiscretizedLogistic:
    """256 copies of one pixel's distribution, batch (256,), so each row scores one bin."""
    shape = (256, 1)
    return DiscretizedLogistic(
        torch.full(shape, loc, dtype=torch.float64),
        torch.full(shape, log_scale, dtype=torch.float64),
        event_ndim=1,
    )


def test_probabilities_over_all_bins_sum_to_one():
    for loc, log_scale in [(0.5, -3.0), (0.0, -6.0), (1.0, -2.0), (-0.3, -1.0), (0.7, -7.0)]:
        log_probs = one_pixel(loc, log_scale).log_prob(ALL_BINS[:, None])
        assert abs(log_probs.exp().sum().item() - 1.0) < 1e-9, (loc, log_scale)


def test_log_prob_matches_independent_formula():
    for loc, log_scale in [(0.5, -3.0), (0.02, -5.0), (0.9, -1.5), (0.31, -4.2)]:
        ours = one_pixel(loc, log_scale).log_prob(ALL_BINS[:, None])
        for k in (0, 1, 7, 80, 128, 200, 254, 255):
            expected = reference_log_probability(k, loc, math.exp(log_scale))
            assert abs(ours[k].item() - expected) < 1e-9 * max(1, abs(expected)), (loc, k)


def test_edge_bins_take_the_tails():
    far_below = one_pixel(-2.0, -3.0).log_prob(ALL_BINS[:, None]).exp()
    far_above = one_pixel(3.0, -3.0).log_prob(ALL_BINS[:, None]).exp()
    assert far_below[0] > 1 - 1e-9 and far_above[255] > 1 - 1e-9
    centred = one_pixel(0.5, -3.0).log_prob(ALL_BINS[:, None]).exp()
    # bin 0 holds everything left of its upper edge, much more than its interior neighbour
    assert abs(centred[0].item() - sigmoid((0.5 / 255 - 0.5) / math.exp(-3.0))) < 1e-12
    assert centred[0] > centred[1]


def test_float_pixels_map_to_their_integer_bins_exactly():
    k = np.arange(256, dtype=np.float32)
    as_loaded = torch.from_numpy(k / np.float32(255))  # how vaekit's loaders scale uint8
    assert torch.equal(to_bins(as_loaded), torch.arange(256))


def test_log_prob_is_stable_for_sharp_and_far_off_predictions():
    dist = DiscretizedLogistic(
        torch.tensor([[0.5, 0.0, 1.0]]), torch.tensor([[-20.0, -20.0, 5.0]]), event_ndim=1
    )
    value = dist.log_prob(torch.tensor([[0.0, 1.0, 128 / 255]]))
    assert torch.isfinite(value).all()


def test_sample_frequencies_match_probabilities():
    loc, log_scale = 0.1, -3.5
    dist = DiscretizedLogistic(
        torch.full((200_000,), loc), torch.full((200_000,), log_scale), event_ndim=0
    )
    bins = to_bins(dist.sample(generator=torch.Generator().manual_seed(0)))
    counts = torch.bincount(bins, minlength=256).double() / bins.numel()
    expected = one_pixel(loc, log_scale).log_prob(ALL_BINS[:, None]).exp()
    assert (counts - expected).abs().max() < 0.005


def test_mean_and_mode_agree_with_the_bin_probabilities():
    loc, log_scale = 0.02, -3.0
    probs = one_pixel(loc, log_scale).log_prob(ALL_BINS[:, None]).exp()
    dist = DiscretizedLogistic(
        torch.tensor([loc], dtype=torch.float64),
        torch.tensor([log_scale], dtype=torch.float64),
        event_ndim=0,
    )
    assert abs(dist.mean.item() - (probs * ALL_BINS).sum().item()) < 1e-9
    assert dist.mode.item() == ALL_BINS[probs.argmax()].item()


def test_registered_and_trainable_in_a_vae():
    assert "discretized_logistic" in LIKELIHOODS
    config = VAEConfig(input_shape=(1, 4, 4), latent_dim=2, likelihood="discretized_logistic")
    model = VAE(config)
    x = torch.randint(0, 256, (5, 1, 4, 4)).float() / 255
    loss = -model.elbo(x, generator=torch.Generator().manual_seed(0)).mean()
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
