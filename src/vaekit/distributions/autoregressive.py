"""An autoregressive Bernoulli over one example's values, in raster order.

p(x | context) = prod_i Bernoulli(x_i | sigmoid(l_i)), i running over x.flatten() (C, H, W
order), where the logits l = logits_fn(x, context) must make l_i depend on x only through
x_<i. The context is what the decoder computed from z alone; the masked network that makes
`logits_fn` autoregressive (MADE, Germain et al. 2015) is a likelihood head's business.

log_prob is one pass of logits_fn. Sampling and the mode take D sequential passes, and the
mean has no closed form (see `mean`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from vaekit.distributions.base import Distribution

# (x (..., D), context (..., D)) -> logits (..., D); leading dims broadcast against each other
LogitsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# (logit (...,), position i) -> the value x_i to fix, (...,)
ChooseFn = Callable[[torch.Tensor, int], torch.Tensor]
# (context (..., D), choose) -> (x, each position's logit at its turn), both (..., D): the
# same result as D passes of a LogitsFn, computed incrementally by a head that can
AncestralFn = Callable[[torch.Tensor, ChooseFn], tuple[torch.Tensor, torch.Tensor]]
# seed of the ancestral sample behind `mean` when no generator is given, so that `mean` is a
# fixed function of the distribution (reconstructions repeat exactly) like every other mean
MEAN_SEED = 0


class AutoregressiveBernoulli(Distribution):
    """prod_i Bernoulli(x_i | x_<i, context) over `event_ndim` trailing dims, raster order.

    context: (..., *event_shape) context logits (the batch shape is its leading shape);
    logits_fn: LogitsFn on flattened events, autoregressive in x; generator: the source of
    the ancestral sample behind `mean` (default: a generator seeded with MEAN_SEED);
    ancestral_fn: an incremental AncestralFn for sampling, mode and mean (default: D full
    passes of logits_fn).
    """

    def __init__(
        self,
        context: torch.Tensor,
        logits_fn: LogitsFn,
        event_ndim: int,
        *,
        generator: torch.Generator | None = None,
        ancestral_fn: AncestralFn | None = None,
    ) -> None:
        self.context = context
        self.logits_fn = logits_fn
        self.ancestral_fn = ancestral_fn
        self.event_ndim = event_ndim
        self.generator = generator
        self._mean: torch.Tensor | None = None

    @property
    def shape_source(self) -> torch.Tensor:
        """The context: the base class would read shapes off `mean`, which costs D steps."""
        return self.context

    def _flat(self, tensor: torch.Tensor) -> torch.Tensor:
        """(..., *event_shape) -> (..., D), keeping the tensor's own leading dims."""
        return tensor.flatten(start_dim=tensor.dim() - self.event_ndim)

    def _unflat(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.view(*tensor.shape[:-1], *self.event_shape)

    def logits(self, value: torch.Tensor) -> torch.Tensor:
        """Logit of each position given value's earlier positions: (*batch, *event_shape)."""
        return self._unflat(self.logits_fn(self._flat(value), self._flat(self.context)))

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """sum_i log p(x_i | x_<i, context) in nats: the broadcast batch shape.

        value: (..., *event_shape) binary (grey values give a cross-entropy, not a normalized
        density), broadcastable against the context. The context may have more leading
        (sample) dims than value, e.g. context (K, B, *event), value (B, *event): logits_fn
        then computes value's own terms once and broadcasts them over K.
        """
        x = self._flat(value)
        logits = self.logits_fn(x, self._flat(self.context))
        target = x.expand_as(logits) if x.shape != logits.shape else x
        return -F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(dim=-1)

    def log_prob_tiled(self, value: torch.Tensor, num_samples: int) -> torch.Tensor:
        """log_prob of value (B, *event) when row k * B + b of the batch is sample k of
        example b: (K, B). The context is viewed as (K, B, *event), so value is never tiled."""
        context = self.context.reshape(num_samples, -1, *self.context.shape[1:])
        tiled = AutoregressiveBernoulli(context, self.logits_fn, self.event_ndim)
        return tiled.log_prob(value)

    @torch.no_grad()
    def _ancestral(self, choose: ChooseFn) -> tuple[torch.Tensor, torch.Tensor]:
        """D sequential steps; step i fixes x_i = choose(logit_i, i) from logits that see
        the x_<i already fixed. Returns x and each position's logit at its turn, both (..., D)."""
        context = self._flat(self.context)
        if self.ancestral_fn is not None:
            return self.ancestral_fn(context, choose)
        x = torch.zeros_like(context)
        turn_logits = torch.empty_like(context)
        for i in range(context.shape[-1]):
            logit = self.logits_fn(x, context)[..., i]
            turn_logits[..., i] = logit
            x[..., i] = choose(logit, i)
        return x, turn_logits

    def _uniform(self, generator: torch.Generator | None) -> torch.Tensor:
        flat_shape = (*self.batch_shape, self.event_shape.numel())
        return torch.rand(
            flat_shape, generator=generator, device=self.context.device, dtype=self.context.dtype
        )

    def sample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """Exact ancestral sample: (*batch, *event_shape) in {0, 1}, D passes."""
        x, _ = self._draw(generator)
        return self._unflat(x)

    def _draw(self, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        uniform = self._uniform(generator)
        return self._ancestral(
            lambda logit, i: (uniform[..., i] < torch.sigmoid(logit)).to(uniform.dtype)
        )

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError("autoregressive Bernoulli samples are discrete; use sample()")

    @property
    def mode(self) -> torch.Tensor:
        """Greedy decoding, x_i = [p(x_i = 1 | x_<i) > 1/2] in turn: (*batch, *event_shape).
        It maximizes each conditional, not necessarily the joint probability."""
        x, _ = self._ancestral(lambda logit, i: (logit > 0).to(logit.dtype))
        return self._unflat(x)

    @property
    def mean(self) -> torch.Tensor:
        """p(x_i = 1 | x_<i, context) along one ancestral sample x: (*batch, *event_shape).

        E[x] has no closed form here; these probabilities are an unbiased one-sample estimate
        of it (E over x of p(x_i = 1 | x_<i) is P(x_i = 1)), and look grey like a Bernoulli
        mean. The sample comes from `generator`, or from a generator seeded with MEAN_SEED
        when none was given; it is computed once per distribution object and kept.
        """
        if self._mean is None:
            generator = self.generator
            if generator is None:
                generator = torch.Generator(device=self.context.device).manual_seed(MEAN_SEED)
            _, turn_logits = self._draw(generator)
            self._mean = self._unflat(torch.sigmoid(turn_logits))
        return self._mean
