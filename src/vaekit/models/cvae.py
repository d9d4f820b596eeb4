"""The conditional VAE (Sohn, Lee & Yan 2015; the M2 generative model with y always observed):
q(z | x, y), p(x | z, y), p(z) = N(0, I), the label y one-hot."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vaekit.distributions import DiagonalGaussian, Distribution
from vaekit.errors import ConfigError
from vaekit.likelihoods import LIKELIHOODS
from vaekit.models.base import Labels, LatentVariableModel
from vaekit.models.config import AEConfig
from vaekit.models.labelled import (
    LabelledDecoder,
    LabelledEncoder,
    check_num_classes,
    label_weights,
    tile_rows,
)
from vaekit.objectives import ELBOTerms, ImportanceTerms, elbo_terms, importance_terms, iwae_bound
from vaekit.priors import StandardNormalPrior


@dataclass(frozen=True)
class CVAEConfig(AEConfig):
    """AEConfig plus the number of classes of the label (`vaekit train` sets it from the
    data). The prior is N(0, I): p(z) does not depend on y, p(x | z, y) does."""

    num_classes: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_num_classes(self.num_classes)


class ConditionalVAE(LatentVariableModel):
    """Models p(x | y) = E_p(z)[p(x | z, y)]; every method takes the labels y.

    y: (B,) class indices, or (B, num_classes) soft labels (class weights fed to the networks
    as they are, e.g. to decode between two classes). A label of -1 (unknown) is refused.
    """

    config_class = CVAEConfig
    is_conditional = True
    training_objectives = ("elbo", "iwae")

    def __init__(self, config: CVAEConfig) -> None:
        super().__init__(config)
        self.likelihood = LIKELIHOODS[config.likelihood](config.input_shape)
        self.encoder = LabelledEncoder(config, config.num_classes, 2 * config.latent_dim)
        self.decoder = LabelledDecoder(config, config.num_classes, self.likelihood.params_per_dim)
        self.prior_module = StandardNormalPrior(config.latent_dim)

    def _weights(self, y: Labels, like: torch.Tensor) -> torch.Tensor:
        if y is None:
            raise ConfigError("a ConditionalVAE models p(x | y): pass the labels y")
        return label_weights(
            y.to(like.device), self.config.num_classes, dtype=like.dtype, model_name="cvae"
        )

    def encode(self, x: torch.Tensor, y: Labels = None) -> DiagonalGaussian:
        mean, log_var = self.encoder(x, self._weights(y, x)).chunk(2, dim=-1)
        return DiagonalGaussian(mean, log_var, event_ndim=1)

    def decode(
        self, z: torch.Tensor, y: Labels = None, *, generator: torch.Generator | None = None
    ) -> Distribution:
        """z: (B, D), y: (B,) or (B, num_classes) -> p(x | z, y), batch (B,)."""
        return self.likelihood(self.decoder(z, self._weights(y, z)), generator=generator)

    def _decoder_for(self, y: Labels, like: torch.Tensor):
        """decode(z) for objectives that pass K * B rows of z (sample k of example b at
        row k * B + b): the labels are tiled to match."""
        weights = self._weights(y, like)
        return lambda z: self.likelihood(self.decoder(z, tile_rows(weights, z.shape[0])))

    def prior(self) -> DiagonalGaussian:
        return self.prior_module()

    def training_terms(
        self, x: torch.Tensor, *, y: Labels = None, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        posterior = self.encode(x, y)
        return elbo_terms(x, posterior, self.prior(), self._decoder_for(y, x), generator=generator)

    def importance_terms(
        self,
        x: torch.Tensor,
        num_samples: int,
        *,
        y: Labels = None,
        generator: torch.Generator | None = None,
    ) -> ImportanceTerms:
        """K samples of z ~ q(z | x, y) per example: (K, B) terms in nats."""
        decode = self._decoder_for(y, x)
        return importance_terms(
            x, self.encode(x, y), self.prior(), decode, num_samples, generator=generator
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
        """Importance-weighted log p(x | y), K = k samples: (B,) nats (a lower bound)."""
        decode = self._decoder_for(y, x)
        return iwae_bound(
            x,
            self.encode(x, y),
            self.prior(),
            decode,
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
        """Means of p(x | z, y) for z ~ N(0, temperature^2 I): (num_samples, *input_shape).

        y: (num_samples,) classes or (num_samples, num_classes) soft labels; required.
        """
        if y is None or y.shape[0] != num_samples:
            raise ConfigError(f"a ConditionalVAE samples given a label for each of the "
                              f"{num_samples} samples")  # fmt: skip
        prior = self.prior().with_temperature(temperature)
        z = prior.rsample_n(num_samples, generator=generator)
        return self.decode(z, y, generator=generator).mean
