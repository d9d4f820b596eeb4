"""The autoregressive Bernoulli likelihood (bernoulli_ar) against exhaustive enumeration."""

import itertools

import pytest
import torch

from vaekit.distributions import AutoregressiveBernoulli, Bernoulli, Distribution
from vaekit.errors import ConfigError
from vaekit.likelihoods import LIKELIHOODS, AutoregressiveBernoulliHead
from vaekit.models import VAE, VAEConfig, load_model, save_model
from vaekit.models.fused_mlp import fused_mlp_supported


def random_head(event_shape, hidden_units=16, seed=0):
    """A head with every weight random and non-zero (A included), in float64."""
    torch.manual_seed(seed)
    head = AutoregressiveBernoulliHead(event_shape, hidden_units=hidden_units).double()
    with torch.no_grad():
        for param in head.parameters():
            param.normal_()
    return head


def all_binary(num_dims):
    """Every binary vector of length num_dims: (2**num_dims, num_dims) float64."""
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=num_dims)), dtype=torch.float64)


def test_it_is_registered_and_keeps_the_registry_signature():
    head = LIKELIHOODS["bernoulli_ar"]((1, 3, 3))
    assert isinstance(head, AutoregressiveBernoulliHead) and head.params_per_dim == 1
    assert head.degrees.min() >= 1 and head.degrees.max() <= 8  # degrees in {1, ..., D-1}
    assert torch.count_nonzero(head.direct) == 0  # A starts at zero


def test_logit_i_depends_on_earlier_pixels_only():
    head = random_head((1, 3, 3))
    context = torch.randn(2, 1, 3, 3, dtype=torch.float64)
    dist = head(context)
    x = (torch.rand(2, 1, 3, 3, generator=torch.Generator().manual_seed(1)) > 0.5).double()
    base_logits = dist.logits(x).flatten(1)
    for j in range(9):
        flipped = x.clone().flatten(1)
        flipped[:, j] = 1 - flipped[:, j]
        flipped = flipped.view_as(x)
        logits = dist.logits(flipped).flatten(1)
        torch.testing.assert_close(logits[:, : j + 1], base_logits[:, : j + 1], rtol=0, atol=1e-12)
        if j < 8:  # with every weight non-zero, x_j reaches the later logits
            assert (logits[:, j + 1 :] - base_logits[:, j + 1 :]).abs().max() > 1e-6
        assert (dist.log_prob(flipped) - dist.log_prob(x)).abs().min() > 1e-6


@pytest.mark.parametrize("event_shape", [(4,), (1, 1, 5)])
def test_probabilities_of_all_binary_vectors_sum_to_one(event_shape):
    head = random_head(event_shape)
    num_dims = torch.Size(event_shape).numel()
    context = torch.randn(3, 1, *event_shape, dtype=torch.float64)
    outcomes = all_binary(num_dims).view(-1, *event_shape)  # (2**D, *event)
    log_probs = head(context).log_prob(outcomes)  # context (3, 1) against x (2**D,)
    assert log_probs.shape == (3, 2**num_dims)
    torch.testing.assert_close(
        log_probs.exp().sum(dim=-1), torch.ones(3, dtype=torch.float64), rtol=0, atol=1e-5
    )


def test_it_reduces_to_independent_bernoullis_without_the_autoregressive_terms():
    head = random_head((6,))
    with torch.no_grad():
        head.output_layer.weight.zero_()
        head.direct.zero_()
    context = torch.randn(4, 6, dtype=torch.float64)
    x = (torch.rand(4, 6, dtype=torch.float64) > 0.5).double()
    expected = Bernoulli(context, event_ndim=1).log_prob(x)
    torch.testing.assert_close(head(context).log_prob(x), expected)


def test_extra_sample_dims_of_the_context_match_the_loop_over_samples():
    head = random_head((2, 3, 2))
    context = torch.randn(5, 4, 2, 3, 2, dtype=torch.float64)  # (K, B, *event)
    x = (torch.rand(4, 2, 3, 2, dtype=torch.float64) > 0.5).double()  # (B, *event)
    together = head(context).log_prob(x)
    looped = torch.stack([head(context[k]).log_prob(x) for k in range(5)])
    assert together.shape == (5, 4)
    torch.testing.assert_close(together, looped)
    # the tiled layout of importance sampling (row k * B + b) gives the same (K, B) values
    flat = head(context.flatten(0, 1))
    torch.testing.assert_close(flat.log_prob_tiled(x, 5), looped)
    torch.testing.assert_close(Distribution.log_prob_tiled(flat, x, 5), looped)


def test_importance_sampling_computes_the_data_terms_once_per_example():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 4, 4), latent_dim=2, likelihood="bernoulli_ar"))
    head = model.likelihood
    seen = []

    def spy(x, context):
        seen.append((tuple(x.shape), tuple(context.shape)))
        return AutoregressiveBernoulliHead.logits(head, x, context)

    head.logits = spy
    x = (torch.rand(3, 1, 4, 4) > 0.5).float()
    model.log_likelihood(x, k=7, chunk_size=4, generator=torch.Generator().manual_seed(0))
    assert seen == [((3, 16), (4, 3, 16)), ((3, 16), (3, 3, 16))]


def test_sample_frequencies_match_the_probabilities():
    head = random_head((3,))
    num_samples = 20_000
    context = torch.randn(3, dtype=torch.float64).expand(num_samples, 3)
    dist = head(context)
    samples = dist.sample(generator=torch.Generator().manual_seed(0))
    assert samples.shape == (num_samples, 3) and set(samples.unique().tolist()) <= {0.0, 1.0}
    outcomes = all_binary(3)
    probs = head(context[:1]).log_prob(outcomes).exp()  # (8,)
    codes = (samples * torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64)).sum(-1).long()
    freqs = torch.bincount(codes, minlength=8).double() / num_samples
    std_errors = (probs * (1 - probs) / num_samples).sqrt()
    assert ((freqs - probs).abs() <= 4 * std_errors + 1e-4).all(), (freqs, probs)
    # `mean` is p(x_i = 1 | x_<i) along one sample per row: unbiased for P(x_i = 1)
    marginals = (probs[:, None] * outcomes).sum(0)
    mean = dist.mean
    assert ((mean.mean(0) - marginals).abs() <= 4 * (0.25 / num_samples) ** 0.5).all()
    assert mean.min() > 0 and mean.max() < 1


def test_mode_is_greedy_decoding():
    head = random_head((5,))
    context = torch.randn(8, 5, dtype=torch.float64)
    dist = head(context)
    mode = dist.mode
    for row in range(8):
        x = torch.zeros(5, dtype=torch.float64)
        for i in range(5):
            x[i] = float(dist.logits(x)[row, i] > 0)
        assert torch.equal(mode[row], x)


def test_mean_is_fixed_by_its_generator():
    head = random_head((1, 2, 3))
    context = torch.randn(6, 1, 2, 3, dtype=torch.float64)
    plain = head(context)
    assert torch.equal(plain.mean, plain.mean)
    assert torch.equal(plain.mean, head(context).mean)  # no generator: a fixed seed
    first = head(context, generator=torch.Generator().manual_seed(7)).mean
    again = head(context, generator=torch.Generator().manual_seed(7)).mean
    other = head(context, generator=torch.Generator().manual_seed(8)).mean
    assert first.shape == context.shape and torch.equal(first, again)
    assert not torch.equal(first, other)
    with pytest.raises(NotImplementedError):
        plain.rsample()


@pytest.mark.parametrize("name", ["vae", "hvae"])
def test_model_samples_are_reproducible_with_their_seed(name):
    from vaekit.models import MODELS

    cls = MODELS[name]
    torch.manual_seed(0)
    model = cls(cls.config_class(input_shape=(1, 4, 4), latent_dim=2, likelihood="bernoulli_ar"))
    first = model.sample(5, generator=torch.Generator().manual_seed(3))
    again = model.sample(5, generator=torch.Generator().manual_seed(3))
    other = model.sample(5, generator=torch.Generator().manual_seed(4))
    assert first.shape == (5, 1, 4, 4) and torch.equal(first, again)
    assert not torch.equal(first, other)


def test_save_load_gives_identical_log_prob(tmp_path):
    torch.manual_seed(0)
    config = VAEConfig(input_shape=(1, 5, 5), latent_dim=3, likelihood="bernoulli_ar")
    model = VAE(config)
    with torch.no_grad():
        model.likelihood.direct.normal_()
    assert "likelihood.degrees" in model.state_dict()
    assert "likelihood.input_mask" not in model.state_dict()  # rebuilt from the degrees
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert torch.equal(loaded.likelihood.degrees, model.likelihood.degrees)
    z = torch.randn(4, 3)
    x = (torch.rand(4, 1, 5, 5) > 0.5).float()
    assert torch.equal(loaded.decode(z).log_prob(x), model.decode(z).log_prob(x))


def test_loading_other_degrees_rebuilds_the_masks():
    head = AutoregressiveBernoulliHead((6,), hidden_units=4)
    state = head.state_dict()
    state["degrees"] = torch.tensor([1, 2, 3, 5])
    head.load_state_dict(state)
    expected = (torch.arange(6)[None, :] < state["degrees"][:, None]).float()
    assert torch.equal(head.input_mask, expected)


def test_events_too_large_for_the_direct_term_are_refused():
    with pytest.raises(ConfigError, match="at most 4096"):
        AutoregressiveBernoulliHead((1, 65, 64))
    with pytest.raises(ConfigError, match="bernoulli_ar"):
        VAE(VAEConfig(input_shape=(4097,), latent_dim=2, likelihood="bernoulli_ar"))


def test_the_fused_fast_path_is_off():
    config = VAEConfig(input_shape=(1, 8, 8), likelihood="bernoulli_ar")
    assert not fused_mlp_supported(VAE(config))
    assert fused_mlp_supported(VAE(VAEConfig(input_shape=(1, 8, 8), likelihood="bernoulli")))


def test_distribution_shapes_do_not_need_the_mean():
    dist = AutoregressiveBernoulli(torch.zeros(2, 3, 1, 4, 4), lambda x, c: c, event_ndim=3)
    assert dist.batch_shape == (2, 3) and dist.event_shape == (1, 4, 4)
    assert dist._mean is None


@pytest.mark.parametrize("leading", [(7,), (2, 3)])
def test_incremental_ancestral_steps_equal_full_passes(leading):
    """The head's incremental sampler fixes the same x, from the same logits, as D full
    passes of its logits function (the generic path of the distribution)."""
    torch.manual_seed(0)
    head = AutoregressiveBernoulliHead((1, 3, 4), hidden_units=9)
    with torch.no_grad():
        head.direct.normal_()
    context = torch.randn(*leading, 1, 3, 4)
    fast = head(context)
    slow = AutoregressiveBernoulli(context, head.logits, event_ndim=3)
    assert fast.ancestral_fn is not None
    for draw in ("sample", "mode"):
        if draw == "sample":
            first = fast.sample(generator=torch.Generator().manual_seed(5))
            second = slow.sample(generator=torch.Generator().manual_seed(5))
        else:
            first, second = fast.mode, slow.mode
        assert torch.equal(first, second)
    mean_fast = head(context, generator=torch.Generator().manual_seed(2)).mean
    mean_slow = AutoregressiveBernoulli(
        context, head.logits, event_ndim=3, generator=torch.Generator().manual_seed(2)
    ).mean
    torch.testing.assert_close(mean_fast, mean_slow, rtol=0, atol=1e-5)
