"""The deterministic autoencoder (Hinton & Salakhutdinov, 2006): the VAE's baseline."""

from __future__ import annotations

import torch

from vaekit.distributions import Distribution, PointMass
from vaekit.likelihoods import LIKELIHOODS
from vaekit.models.base import Labels, LatentVariableModel
from vaekit.models.config import AEConfig
from vaekit.models.networks import build_decoder, build_encoder
from vaekit.objectives import ELBOTerms


class AE(LatentVariableModel):
    """x -> z = f(x) -> p(x|z); trained on reconstruction log-likelihood alone.

    It has no prior and no bound on log p(x): `training_terms` returns a zero KL so the
    trainer's loss is the reconstruction negative log-likelihood, and evaluation reports
    reconstruction error only. With no importance weights it trains on "elbo" alone (the
    base class's `training_objectives`).
    """

    config_class = AEConfig
    has_likelihood_bound = False

    def __init__(self, config: AEConfig) -> None:
        super().__init__(config)
        self.likelihood = LIKELIHOODS[config.likelihood](config.input_shape)
        self.encoder = build_encoder(config, config.latent_dim)
        self.decoder = build_decoder(config, self.likelihood.params_per_dim)

    def encode(self, x: torch.Tensor, y: Labels = None) -> PointMass:
        return PointMass(self.encoder(x), event_ndim=1)

    def decode(self, z: torch.Tensor, y: Labels = None) -> Distribution:
        return self.likelihood(self.decoder(z))

    def training_terms(
        self, x: torch.Tensor, *, y: Labels = None, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        log_px_given_z = self.decode(self.encoder(x)).log_prob(x)
        return ELBOTerms(log_px_given_z=log_px_given_z, kl=torch.zeros_like(log_px_given_z))
