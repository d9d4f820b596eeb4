"""The variational autoencoder (Kingma & Welling, 2013)."""

from __future__ import annotations

import torch

from vaekit.distributions import DiagonalGaussian, Distribution
from vaekit.likelihoods import LIKELIHOODS
from vaekit.models.base import Labels, LatentVariableModel
from vaekit.models.config import VAEConfig
from vaekit.models.fused_mlp import FusedMLPVAE, fused_mlp_supported, has_hooks
from vaekit.models.networks import build_decoder, build_encoder
from vaekit.objectives import (
    ELBOTerms,
    ImportanceTerms,
    chunked_iwae,
    elbo_terms,
    importance_terms,
    iwae_bound,
)
from vaekit.priors import PRIORS


class VAE(LatentVariableModel):
    """q(z|x) = N(mean(x), diag(exp(log_var(x)))), p(z) from the prior, p(x|z) from a head.

    The encoder emits 2 * latent_dim numbers per example: a mean and a log-variance, the two
    parameters a diagonal Gaussian posterior needs.
    """

    config_class = VAEConfig
    training_objectives = ("elbo", "iwae")
    supports_fused_mlp = True  # this class's own ELBO; subclasses do not inherit it

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        self.likelihood = LIKELIHOODS[config.likelihood](config.input_shape)
        self.encoder = build_encoder(config, 2 * config.latent_dim)
        self.decoder = build_decoder(config, self.likelihood.params_per_dim)
        self.prior_module = PRIORS[config.prior](config, self)

    def encode(self, x: torch.Tensor, y: Labels = None) -> DiagonalGaussian:
        mean, log_var = self.encoder(x).chunk(2, dim=-1)
        return DiagonalGaussian(mean, log_var, event_ndim=1)

    def decode(self, z: torch.Tensor, y: Labels = None) -> Distribution:
        return self.likelihood(self.decoder(z))

    def prior(self) -> DiagonalGaussian:
        return self.prior_module()

    def training_terms(
        self, x: torch.Tensor, *, y: Labels = None, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        return elbo_terms(x, self.encode(x), self.prior(), self.decode, generator=generator)

    def importance_terms(
        self,
        x: torch.Tensor,
        num_samples: int,
        *,
        y: Labels = None,
        generator: torch.Generator | None = None,
    ) -> ImportanceTerms:
        """K reparameterized samples per example (differentiable): (K, B) terms in nats."""
        return importance_terms(
            x, self.encode(x), self.prior(), self.decode, num_samples, generator=generator
        )

    @torch.no_grad()
    def log_likelihood(
        self,
        x: torch.Tensor,
        k: int = 1000,
        *,
        y: Labels = None,
        chunk_size: int | None = 200,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Importance-weighted log p(x) estimate, K = k samples: (B,) nats (a lower bound)."""
        if fused_mlp_supported(self) and not has_hooks(self):  # same bound, fewer passes
            fused = FusedMLPVAE(self)
            targets = x.reshape(x.shape[0], -1)
            posterior, data_terms = fused.posterior(targets), fused.data_terms(targets)
            return chunked_iwae(
                lambda size: fused.log_importance_weights(
                    x, size, generator=generator, posterior=posterior, data_terms=data_terms
                ),
                k,
                chunk_size,
            )
        return iwae_bound(
            x,
            self.encode(x),
            self.prior(),
            self.decode,
            k,
            chunk_size=chunk_size,
            generator=generator,
        )

    @torch.no_grad()
    def sample(
        self,
        num_samples: int,
        *,
        y: Labels = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Means of p(x|z) for z ~ the prior with std scaled by temperature: (N, *input_shape)."""
        prior = self.prior()
        z = prior.with_temperature(temperature).rsample_n(num_samples, generator=generator)
        # the generator also drives a mean that is itself sampled (an autoregressive decoder)
        return self.likelihood(self.decoder(z), generator=generator).mean
