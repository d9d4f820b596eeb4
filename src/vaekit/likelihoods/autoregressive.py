"""An autoregressive Bernoulli decoder head: MADE (Germain et al. 2015) conditioned on z.

The decoder's features c (one per data dimension, a function of z only) are context logits;
with x and c flattened to (..., D) in raster (C, H, W) order,
    h      = relu((M1 * W1) x + b1 + Wc c)               W1, Wc: (H, D); b1: (H,)
    logits = c + (M2 * W2) h + (M3 * A) x                W2: (D, H); A: (D, D)
Hidden unit k has a degree m_k in {1, ..., D-1}: it sees pixels d < m_k (M1[k, d]) and feeds
outputs d >= m_k (M2[d, k]), so output d depends on pixels < d only; M3 = tril(1, -1) gives
the direct term the same property. A starts at zero, so the head starts as a plain
Bernoulli decoder plus a MADE correction.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from vaekit.distributions import AutoregressiveBernoulli
from vaekit.errors import ConfigError
from vaekit.likelihoods.heads import LikelihoodHead

HIDDEN_UNITS = 400
# the direct term A is D x D: 4096 values already make it 16.8 M parameters
MAX_EVENT_DIMS = 4096
# degrees come from their own seed, not the global one: the masks are part of the design,
# and the `degrees` buffer carries them through save/load
DEGREE_SEED = 0


class AutoregressiveBernoulliHead(LikelihoodHead):
    """One decoder output per data dimension (the context logits) -> AutoregressiveBernoulli.

    event_shape: one example's shape, at most MAX_EVENT_DIMS values; hidden_units: H.
    """

    params_per_dim = 1

    def __init__(self, event_shape: tuple[int, ...], *, hidden_units: int = HIDDEN_UNITS) -> None:
        super().__init__(event_shape)
        num_dims = math.prod(self.event_shape)
        if num_dims > MAX_EVENT_DIMS:
            raise ConfigError(
                f"the bernoulli_ar likelihood handles at most {MAX_EVENT_DIMS} values per "
                f"example (its direct term is D x D), got {num_dims} for shape {self.event_shape}"
            )
        self.input_layer = nn.Linear(num_dims, hidden_units)  # W1 (masked) and b1
        self.context_layer = nn.Linear(num_dims, hidden_units, bias=False)  # Wc
        self.output_layer = nn.Linear(hidden_units, num_dims, bias=False)  # W2 (masked)
        self.direct = nn.Parameter(torch.zeros(num_dims, num_dims))  # A, lower triangle used
        generator = torch.Generator().manual_seed(DEGREE_SEED)
        # D = 1 has no earlier pixel: degree 1 then connects x_0 to hidden units nobody reads
        degrees = torch.randint(1, max(num_dims, 2), (hidden_units,), generator=generator)
        self.register_buffer("degrees", degrees)
        # the masks follow from the degrees: kept out of the checkpoint, rebuilt after a load
        self.register_buffer("input_mask", torch.empty(hidden_units, num_dims), persistent=False)
        self.register_buffer("output_mask", torch.empty(num_dims, hidden_units), persistent=False)
        self.register_buffer("direct_mask", torch.empty(num_dims, num_dims), persistent=False)
        self.build_masks()
        self.register_load_state_dict_post_hook(lambda module, _: module.build_masks())

    @torch.no_grad()
    def build_masks(self) -> None:
        """Set M1 (H, D), M2 (D, H) and M3 (D, D) as 0/1 from the degrees."""
        pixels = torch.arange(self.direct.shape[0], device=self.degrees.device)
        self.input_mask.copy_(pixels[None, :] < self.degrees[:, None])
        self.output_mask.copy_(pixels[:, None] >= self.degrees[None, :])
        self.direct_mask.copy_(pixels[:, None] > pixels[None, :])

    def logits(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """x: (..., D) values, context: (..., D) context logits, leading dims broadcastable
        -> (..., D) logits, position i depending on x only through x_<i.

        The x-only terms are computed on x's own leading shape and broadcast, so a context
        of K samples per example costs one pass over x, not K.
        """
        input_weight = self.input_layer.weight * self.input_mask
        from_x = F.linear(x, input_weight, self.input_layer.bias)
        direct = F.linear(x, self.direct * self.direct_mask)
        hidden = torch.relu(from_x + self.context_layer(context))
        return context + F.linear(hidden, self.output_layer.weight * self.output_mask) + direct

    @torch.no_grad()
    def ancestral(
        self, context: torch.Tensor, choose: Callable[[torch.Tensor, int], torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """D sequential steps as in AutoregressiveBernoulli, incrementally: fixing x_i adds
        its column to the hidden pre-activations and to the direct term, so step i costs
        O(H + D) per example instead of a full pass, O(D * H). context: (..., D); returns x
        and each position's logit at its turn, both (..., D)."""
        input_weight = (self.input_layer.weight * self.input_mask).t()  # (D, H)
        output_weight = self.output_layer.weight * self.output_mask  # (D, H)
        direct = (self.direct * self.direct_mask).t()  # (D, D): row i = x_i's effect
        pre_hidden = self.context_layer(context) + self.input_layer.bias  # (..., H), x = 0
        from_direct = torch.zeros_like(context)  # (..., D): (M3 * A) x so far
        x = torch.zeros_like(context)
        turn_logits = torch.empty_like(context)
        for i in range(context.shape[-1]):
            logit = context[..., i] + torch.relu(pre_hidden) @ output_weight[i]
            logit = logit + from_direct[..., i]
            turn_logits[..., i] = logit
            value = choose(logit, i)
            x[..., i] = value
            pre_hidden.addcmul_(value.unsqueeze(-1), input_weight[i])
            from_direct.addcmul_(value.unsqueeze(-1), direct[i])
        return x, turn_logits

    def forward(
        self, features: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> AutoregressiveBernoulli:
        """features: (B, *event_shape) context logits -> AutoregressiveBernoulli; generator
        drives its `mean` (one ancestral sample)."""
        return AutoregressiveBernoulli(
            features,
            self.logits,
            event_ndim=len(self.event_shape),
            generator=generator,
            ancestral_fn=self.ancestral,
        )
