"""The training loss of one batch, from a model's per-example terms: ELBO or IWAE bound.

This is the one place per-example terms are reduced over the batch for training.
"""

from __future__ import annotations

import torch

from vaekit.objectives.iwae import iwae_from_log_weights

OBJECTIVES = ("elbo", "iwae")


def free_bits_kl(kl_groups: torch.Tensor, free_bits: float) -> torch.Tensor:
    """sum_g max(free_bits, mean over the batch of KL_g): a scalar in nats.

    kl_groups: (B, G). Each group's batch-mean KL is floored at `free_bits` nats, so the
    optimizer gains nothing by pushing a group below it (Kingma et al. 2016, eq. 15).
    """
    return torch.clamp(kl_groups.mean(dim=0), min=free_bits).sum()


def batch_loss(
    model,
    x: torch.Tensor,
    *,
    y: torch.Tensor | None = None,
    kl_weight: float = 1.0,
    objective: str = "elbo",
    num_samples: int = 1,
    free_bits: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(loss, reconstruction, kl): scalar batch means in nats per example.

    model: a LatentVariableModel; x: (B, *input_shape); y: (B,) labels (-1 unknown) or None,
    handed to the model, which uses them or not as its class declares.
    - "elbo": loss = -mean(log p(x|z)) + kl_weight * KL term, where the KL term is the batch
      mean KL, or with free_bits > 0 the floored sum of `free_bits_kl` over the model's KL
      groups (the whole KL is one group when the model gives none).
    - "iwae": loss = -mean(IWAE_K) with K = num_samples (Burda et al. 2015); kl_weight scales
      log q - log p inside each log weight, so KL warm-up works here too. Reconstruction and
      kl are then means over the K samples.
    reconstruction = -mean(log p(x|z)); kl = mean KL (or its Monte Carlo estimate), unfloored.
    A model's `auxiliary_loss` (ELBO terms only), batch-averaged, is added to the loss as is:
    it is not scaled by kl_weight and not part of reconstruction or kl.
    """
    if objective == "iwae":
        terms = model.importance_terms(x, num_samples, y=y, generator=generator)
        log_weights = terms.log_px_given_z - kl_weight * terms.log_density_ratio
        loss = -iwae_from_log_weights(log_weights).mean()
        return loss, -terms.log_px_given_z.mean(), terms.log_density_ratio.mean()
    if objective != "elbo":
        raise ValueError(f"unknown objective {objective!r}; choose from {', '.join(OBJECTIVES)}")
    terms = model.training_terms(x, y=y, generator=generator)
    reconstruction = -terms.log_px_given_z.mean()
    kl = terms.kl.mean()
    if free_bits > 0:
        groups = terms.kl_groups if terms.kl_groups is not None else terms.kl.unsqueeze(-1)
        loss = reconstruction + kl_weight * free_bits_kl(groups, free_bits)
    else:
        loss = reconstruction + kl_weight * kl
    if terms.auxiliary_loss is not None:
        loss = loss + terms.auxiliary_loss.mean()
    return loss, reconstruction, kl
