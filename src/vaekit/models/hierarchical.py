"""A hierarchical VAE with a top-down inference path (ladder VAE, Sønderby et al. 2016;
residual posterior and cells as in NVAE, Vahdat & Kautz 2020, and VDVAE, Child 2021).

Generative model, with L stochastic layers z_L (top) ... z_1 (bottom), each of latent_dim:
    s_L = learned constant;  z_l ~ p(z_l | s_l);  s_{l-1} = cell_l(s_l + W_l z_l);  x ~ p(x | s_0)
so p(z) = p(z_L) prod_{l<L} p(z_l | z_{>l}), with p(z_L) the configured prior.

Inference shares the top-down path: a bottom-up pass computes features h_1 ... h_L of x
(the encoder trunk, then one residual cell per layer), and q(z_l | x, z_{>l}) is a diagonal
Gaussian whose parameters are the prior's plus a correction read from [s_l, h_l]. The KL of
each layer given the layers above is analytic, so the ELBO has L KL groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from vaekit.distributions import DiagonalGaussian, Distribution, kl
from vaekit.errors import ConfigError
from vaekit.likelihoods import LIKELIHOODS
from vaekit.models.base import Labels, LatentVariableModel
from vaekit.models.config import MAX_WIDTH, VAEConfig
from vaekit.models.networks import build_decoder, build_encoder
from vaekit.nn import ResidualBlock
from vaekit.objectives import ELBOTerms, ImportanceTerms, chunked_iwae
from vaekit.priors import PRIORS

# log-variances and their corrections pass through a soft clamp: a posterior scale cannot
# collapse to exp(-LOG_VAR_BOUND / 2) or blow up, which keeps the KL and its gradient finite
# early in training (NVAE bounds its log-scales the same way)
LOG_VAR_BOUND = 8.0


@dataclass(frozen=True)
class HVAEConfig(VAEConfig):
    """VAEConfig plus the hierarchy: latent_dim is the size of each of num_latent_layers
    layers (the model's z has num_latent_layers * latent_dim entries); state_dim is the width
    of the deterministic top-down and bottom-up paths. `prior` is p(z_L) of the top layer."""

    num_latent_layers: int = 3
    state_dim: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.num_latent_layers <= 64:
            raise ConfigError(f"num_latent_layers must be in 1..64, got {self.num_latent_layers}")
        if not 1 <= self.state_dim <= MAX_WIDTH:
            raise ConfigError(f"state_dim must be in 1..{MAX_WIDTH}, got {self.state_dim}")
        if self.prior == "vamp":  # q(z_L | x) is not what encode returns (all L layers)
            raise ConfigError(
                "prior 'vamp' does not apply to the hierarchical VAE (its top layer's "
                "posterior is not the encoder's output); use prior 'mog' or 'standard_normal'"
            )


def soft_clamp(value: torch.Tensor, bound: float = LOG_VAR_BOUND) -> torch.Tensor:
    """bound * tanh(value / bound): the identity near 0, smoothly limited to (-bound, bound)."""
    return bound * torch.tanh(value / bound)


@dataclass
class LayerStep:
    """One stochastic layer of a top-down pass: prior, posterior (None when generating), z."""

    prior: Distribution
    posterior: DiagonalGaussian | None
    z: torch.Tensor


class HierarchicalVAE(LatentVariableModel):
    """L stochastic layers of vector latents with a shared top-down path (see module doc)."""

    config_class = HVAEConfig
    training_objectives = ("elbo", "iwae")

    def __init__(self, config: HVAEConfig) -> None:
        super().__init__(config)
        layers, width, dim = config.num_latent_layers, config.state_dim, config.latent_dim
        act = config.activation
        self.likelihood = LIKELIHOODS[config.likelihood](config.input_shape)
        self.encoder = build_encoder(config, width)
        self.decoder = build_decoder(config, self.likelihood.params_per_dim, in_features=width)
        self.bottom_up = nn.ModuleList(ResidualBlock(width, act) for _ in range(layers - 1))
        self.top_state = nn.Parameter(torch.zeros(width))
        self.top_prior = PRIORS[config.prior](config, self)
        # index 0 is the top layer: modules run in top-down order
        self.prior_heads = nn.ModuleList(nn.Linear(width, 2 * dim) for _ in range(layers - 1))
        self.posterior_heads = nn.ModuleList(nn.Linear(2 * width, 2 * dim) for _ in range(layers))
        self.latent_in = nn.ModuleList(nn.Linear(dim, width) for _ in range(layers))
        self.cells = nn.ModuleList(ResidualBlock(width, act) for _ in range(layers))

    @property
    def latent_dim(self) -> int:
        return self.config.num_latent_layers * self.config.latent_dim

    # ----- the two passes -------------------------------------------------------------------

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Bottom-up pass: x (B, *input_shape) -> [h_L, ..., h_1], each (B, state_dim)."""
        h = self.encoder(x)
        found = [h]
        for block in self.bottom_up:
            h = block(h)
            found.append(h)
        return found[::-1]

    def top_down(
        self,
        batch: int,
        features: list[torch.Tensor] | None = None,
        *,
        latents: list[torch.Tensor] | None = None,
        use_means: bool = False,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, list[LayerStep]]:
        """Top-down pass over `batch` rows: returns the final state (B, state_dim) and a
        LayerStep per layer, top first.

        With features (from `features`) each z_l comes from the posterior, otherwise from the
        prior (std scaled by temperature); `latents` [z_L, ..., z_1] (each (B, latent_dim))
        fixes the z's instead; use_means takes each distribution's mean.
        """
        state = self.top_state.expand(batch, -1)
        steps = []
        for index in range(self.config.num_latent_layers):
            prior = self._prior_at(index, state)
            posterior = None
            if features is not None:
                posterior = self._posterior_at(index, state, features[index], prior)
            if latents is not None:
                z = latents[index]
            elif posterior is not None:
                z = posterior.mean if use_means else posterior.rsample(generator=generator)
            else:
                z = self._draw_from_prior(index, prior, batch, use_means, temperature, generator)
            steps.append(LayerStep(prior, posterior, z))
            state = self.cells[index](state + self.latent_in[index](z))
        return state, steps

    def _draw_from_prior(self, index, prior, batch, use_means, temperature, generator):
        """z_l from p(z_l | z_>l): (batch, latent_dim). The top prior has no batch shape."""
        if index == 0:
            if use_means:
                return prior.mean.expand(batch, -1)
            return prior.with_temperature(temperature).rsample_n(batch, generator=generator)
        if use_means:
            return prior.mean
        return prior.with_temperature(temperature).rsample(generator=generator)

    def _prior_at(self, index: int, state: torch.Tensor) -> Distribution:
        """p(z_l | z_>l) with batch (batch,), except the top layer's: batch ()."""
        if index == 0:
            return self.top_prior()
        mean, log_var = self.prior_heads[index - 1](state).chunk(2, dim=-1)
        return DiagonalGaussian(mean, soft_clamp(log_var), event_ndim=1)

    def _posterior_at(
        self, index: int, state: torch.Tensor, feature: torch.Tensor, prior: Distribution
    ) -> DiagonalGaussian:
        delta_mean, delta_log_var = self.posterior_heads[index](
            torch.cat([state, feature], dim=-1)
        ).chunk(2, dim=-1)
        if isinstance(prior, DiagonalGaussian) and index > 0:
            # residual parameterization (NVAE, eq. 3): q starts out equal to the prior
            return DiagonalGaussian(
                prior.loc + delta_mean, soft_clamp(prior.log_var + delta_log_var), event_ndim=1
            )
        return DiagonalGaussian(delta_mean, soft_clamp(delta_log_var), event_ndim=1)

    # ----- the LatentVariableModel interface ---------------------------------------------------

    def encode(self, x: torch.Tensor, y: Labels = None) -> DiagonalGaussian:
        """The posterior of every layer along the path of posterior means, concatenated:
        (B, *input_shape) -> batch (B,), event (num_latent_layers * latent_dim,), top first.

        Each layer's q(z_l | x, z_{>l}) is exact given the means above it, so this is the
        distribution to embed, interpolate and reconstruct with; likelihood bounds use the
        full hierarchical posterior instead (`training_terms`, `log_likelihood`).
        """
        _, steps = self.top_down(x.shape[0], self.features(x), use_means=True)
        return DiagonalGaussian(
            torch.cat([step.posterior.loc for step in steps], dim=-1),
            torch.cat([step.posterior.log_var for step in steps], dim=-1),
            event_ndim=1,
        )

    def decode(self, z: torch.Tensor, y: Labels = None) -> Distribution:
        """z: (B, num_latent_layers * latent_dim), top layer first -> p(x | z)."""
        latents = list(z.split(self.config.latent_dim, dim=-1))
        state, _ = self.top_down(z.shape[0], latents=latents)
        return self.likelihood(self.decoder(state))

    def prior(self) -> Distribution:
        return TopDownPrior(self)

    def training_terms(
        self, x: torch.Tensor, *, y: Labels = None, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        """One-sample ELBO terms; kl_groups (B, L) holds KL(q(z_l|x, z_>l) || p(z_l|z_>l)) at
        the sampled z_>l, analytic per layer (the top one by Monte Carlo for a mixture prior)."""
        state, steps = self.top_down(x.shape[0], self.features(x), generator=generator)
        log_px_given_z = self.likelihood(self.decoder(state)).log_prob(x)
        groups = torch.stack([_layer_kl(step) for step in steps], dim=-1)
        return ELBOTerms(log_px_given_z, groups.sum(dim=-1), kl_groups=groups)

    def importance_terms(
        self,
        x: torch.Tensor,
        num_samples: int,
        *,
        y: Labels = None,
        generator: torch.Generator | None = None,
    ) -> ImportanceTerms:
        """K samples of the whole hierarchy per example (differentiable): (K, B) terms."""
        return self._importance_terms(x, self.features(x), num_samples, generator)

    def _importance_terms(self, x, features, num_samples, generator) -> ImportanceTerms:
        batch = x.shape[0]
        # rows k * B + b hold sample k of example b
        repeated = [h.repeat(num_samples, 1) for h in features]
        state, steps = self.top_down(num_samples * batch, repeated, generator=generator)
        log_px_given_z = self.likelihood(self.decoder(state)).log_prob_tiled(x, num_samples)
        ratio = sum(step.posterior.log_prob(step.z) - step.prior.log_prob(step.z) for step in steps)
        return ImportanceTerms(log_px_given_z, ratio.view(num_samples, batch))

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
        """Importance-weighted log p(x) estimate with K = k samples of the hierarchical
        posterior: (B,) nats, a lower bound (Burda et al. 2015)."""
        features = self.features(x)
        return chunked_iwae(
            lambda size: self._importance_terms(x, features, size, generator).log_weights,
            k,
            chunk_size,
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
        """Means of p(x|z) for ancestral samples z, each layer's std scaled by temperature:
        (N, *input_shape)."""
        state, _ = self.top_down(num_samples, temperature=temperature, generator=generator)
        # the generator also drives a mean that is itself sampled (an autoregressive decoder)
        return self.likelihood(self.decoder(state), generator=generator).mean


def _layer_kl(step: LayerStep) -> torch.Tensor:
    """KL of one layer given the z's above it: (B,) nats; analytic between Gaussians."""
    if isinstance(step.prior, DiagonalGaussian):
        return kl(step.posterior, step.prior)
    return step.posterior.log_prob(step.z) - step.prior.log_prob(step.z)


class TopDownPrior(Distribution):
    """p(z) of a HierarchicalVAE over its concatenated z (event (L * latent_dim,)).

    log_prob runs the top-down path with the given z's; rsample draws ancestrally. `mean` is
    the path of conditional means (the mode of each conditional), not the marginal mean.
    """

    event_ndim = 1

    def __init__(self, model: HierarchicalVAE) -> None:
        self.model = model

    @property
    def mean(self) -> torch.Tensor:
        _, steps = self.model.top_down(1, use_means=True)
        return torch.cat([step.z for step in steps], dim=-1)[0]

    @property
    def mode(self) -> torch.Tensor:
        return self.mean

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """value: (..., L * latent_dim) -> (...) nats."""
        flat = value.reshape(-1, value.shape[-1])
        latents = list(flat.split(self.model.config.latent_dim, dim=-1))
        _, steps = self.model.top_down(flat.shape[0], latents=latents)
        total = sum(step.prior.log_prob(step.z) for step in steps)
        return total.view(value.shape[:-1])

    def rsample(self, *, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.rsample_n(1, generator=generator)[0]

    def rsample_n(
        self, num_samples: int, *, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """(num_samples, L * latent_dim) ancestral samples."""
        _, steps = self.model.top_down(num_samples, generator=generator)
        return torch.cat([step.z for step in steps], dim=-1)

    def with_temperature(self, temperature: float) -> Distribution:
        raise NotImplementedError("use HierarchicalVAE.sample(temperature=...)")
