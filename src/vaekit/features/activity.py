"""Which latent dimensions a model uses: active units and KL per dimension."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vaekit.distributions import DiagonalGaussian, kl
from vaekit.models import LatentVariableModel

# Burda, Grosse & Salakhutdinov 2016 (IWAE), Sec. 5.2: unit d is active when
# Cov_x(E_q[z_d | x]) exceeds 0.01
ACTIVE_UNIT_THRESHOLD = 0.01


@dataclass(frozen=True)
class LatentActivity:
    """Per-dimension use of the latent space over a set of examples.

    activity: (D,) variance over examples of the posterior mean E_q[z_d | x].
    kl_per_dim: (D,) mean over examples of KL(q(z_d|x) || p(z_d)) in nats; None when the
        posterior or the prior is not a diagonal Gaussian (no per-dimension KL in closed form).
    means: (N, D) the posterior means themselves (float32, CPU), for latent maps.
    """

    activity: torch.Tensor
    kl_per_dim: torch.Tensor | None
    means: torch.Tensor

    @property
    def active(self) -> torch.Tensor:
        """(D,) bool: the active units (activity > ACTIVE_UNIT_THRESHOLD)."""
        return self.activity > ACTIVE_UNIT_THRESHOLD

    @property
    def num_active(self) -> int:
        return int(self.active.sum())

    def most_active(self, count: int) -> list[int]:
        """Indices of the `count` dimensions of largest activity, most active first."""
        order = torch.argsort(self.activity, descending=True, stable=True)
        return [int(d) for d in order[: min(count, order.numel())]]


@torch.inference_mode()
def latent_activity(
    model: LatentVariableModel,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    batch_size: int = 500,
) -> LatentActivity:
    """Active units and KL per dimension of `model` over examples x.

    x: (N, *input_shape) model inputs, N >= 2; y: (N,) labels, given to a model that reads
    them (a conditional model needs every one). Runs in batches on the model's device.
    """
    device = next(model.parameters()).device
    means, kls = [], []
    prior = _diagonal_prior(model)
    for start in range(0, x.shape[0], batch_size):
        labels = None if y is None or not model.uses_labels else y[start : start + batch_size]
        labels = None if labels is None else labels.to(device)
        q = model.encode(x[start : start + batch_size].to(device), labels)
        means.append(q.mean.float().cpu())
        if prior is not None and isinstance(q, DiagonalGaussian):
            # event_ndim 0: kl() then keeps every dimension instead of summing them
            per_dim = kl(DiagonalGaussian(q.loc, q.log_var, event_ndim=0), prior)
            kls.append(per_dim.float().sum(dim=0).cpu())
    all_means = torch.cat(means)
    kl_per_dim = torch.stack(kls).sum(dim=0) / x.shape[0] if len(kls) == len(means) else None
    return LatentActivity(all_means.var(dim=0, unbiased=True), kl_per_dim, all_means)


def _diagonal_prior(model: LatentVariableModel) -> DiagonalGaussian | None:
    """The prior with event_ndim 0 (one KL per dimension), when it is a diagonal Gaussian."""
    if not model.has_likelihood_bound:
        return None
    prior = model.prior()
    if not isinstance(prior, DiagonalGaussian):
        return None  # mixture and VampPrior: the KL per dimension has no closed form
    return DiagonalGaussian(prior.loc, prior.log_var, event_ndim=0)
