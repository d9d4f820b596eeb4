"""KL divergence between distributions, dispatched on their types."""

from __future__ import annotations

from collections.abc import Callable

import torch

from vaekit.distributions.base import Distribution
from vaekit.distributions.gaussian import DiagonalGaussian

_KL_RULES: dict[tuple[type, type], Callable[[Distribution, Distribution], torch.Tensor]] = {}


def register_kl(q_type: type, p_type: type):
    """Decorator registering an analytic KL(q || p) for a pair of distribution types."""

    def decorate(fn):
        _KL_RULES[(q_type, p_type)] = fn
        return fn

    return decorate


def kl(q: Distribution, p: Distribution) -> torch.Tensor:
    """KL(q || p) in nats, summed over event dims: returns q's batch shape, e.g. (B,)."""
    rule = _KL_RULES.get((type(q), type(p)))
    if rule is None:
        raise NotImplementedError(f"no KL rule for {type(q).__name__} || {type(p).__name__}")
    return rule(q, p)


@register_kl(DiagonalGaussian, DiagonalGaussian)
def _kl_gaussian_gaussian(q: DiagonalGaussian, p: DiagonalGaussian) -> torch.Tensor:
    # analytic KL between diagonal Gaussians; with p = N(0, I) this is Kingma & Welling 2013, App. B
    var_ratio = torch.exp(q.log_var - p.log_var)
    mean_term = (q.loc - p.loc) ** 2 * torch.exp(-p.log_var)
    elementwise = 0.5 * (var_ratio + mean_term - 1.0 - (q.log_var - p.log_var))
    return q.sum_event(elementwise)
