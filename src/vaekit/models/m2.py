"""M2, the semi-supervised VAE of Kingma, Rezende, Mohamed & Welling (2014).

Generative model: y ~ uniform over C classes, z ~ N(0, I), x ~ p(x | y, z).
Inference: a classifier q(y | x) and an encoder q(z | x, y).
Per example, the training terms are (section 3.1.2 of the paper):
- labelled (y >= 0): the bound on log p(x, y),
      log p(x | y, z) - [KL(q(z | x, y) || p(z)) - log p(y)],
  so `kl` holds KL_z + log C, the KL of (y, z) to the prior with y observed;
- unlabelled (y = -1): U(x), summing over every class,
      sum_y q(y | x) log p(x | y, z_y) - [sum_y q(y | x) KL_z(y) + KL(q(y | x) || uniform)];
- plus `auxiliary_loss` on labelled rows, whose batch mean is classifier_weight times the mean
  of -log q(y | x) over the batch's labelled rows (eq. 9 with alpha per labelled example, as
  with separate labelled batches); it is not part of the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from vaekit.distributions import DiagonalGaussian, Distribution, kl
from vaekit.errors import ConfigError
from vaekit.likelihoods import LIKELIHOODS
from vaekit.models.base import Labels, LatentVariableModel
from vaekit.models.config import MAX_WIDTH, AEConfig
from vaekit.models.labelled import (
    LabelledDecoder,
    LabelledEncoder,
    check_num_classes,
    label_weights,
    tile_rows,
)
from vaekit.nn import ACTIVATIONS, MLP, ConvEncoder, FlattenMLP
from vaekit.objectives import ELBOTerms, chunked_iwae, log_importance_weights
from vaekit.priors import StandardNormalPrior

CLASSIFIER_ARCHS = ("mlp", "conv")


@dataclass(frozen=True)
class M2Config(AEConfig):
    """AEConfig plus the classifier q(y|x).

    num_classes: C (`vaekit train` sets it from the data).
    classifier_weight: alpha, the weight of the mean classification loss over a batch's
        labelled rows (`vaekit train` defaults it to 0.1 * N_train / N_labelled).
    classifier_arch: "mlp" (classifier_hidden_dims) or "conv" (the conv_channels stages,
        then one hidden layer of classifier_hidden_dims[0]); images only for "conv".
    """

    num_classes: int = 10
    classifier_weight: float = 1.0
    classifier_arch: str = "mlp"
    classifier_hidden_dims: tuple[int, ...] = (500, 500)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_num_classes(self.num_classes)
        if not (math.isfinite(self.classifier_weight) and self.classifier_weight >= 0):
            raise ConfigError(f"classifier_weight must be >= 0, got {self.classifier_weight!r}")
        if self.classifier_arch not in CLASSIFIER_ARCHS:
            raise ConfigError(
                f"unknown classifier_arch {self.classifier_arch!r}; choose from "
                f"{', '.join(CLASSIFIER_ARCHS)}"
            )
        if self.classifier_arch == "conv" and len(self.input_shape) != 3:
            raise ConfigError(
                f"classifier_arch 'conv' needs (C, H, W) inputs, got {self.input_shape}"
            )
        if any(not 1 <= width <= MAX_WIDTH for width in self.classifier_hidden_dims):
            raise ConfigError(f"classifier_hidden_dims must be widths in 1..{MAX_WIDTH}")


def build_classifier(config: M2Config) -> nn.Module:
    """(B, *input_shape) -> class logits (B, num_classes)."""
    act = config.activation
    if config.classifier_arch == "conv":
        width = config.classifier_hidden_dims[0] if config.classifier_hidden_dims else 256
        channels = config.conv_channels or (32, 64)
        return nn.Sequential(
            ConvEncoder(config.input_shape, channels, width, act),
            ACTIVATIONS[act](),
            MLP(width, (), config.num_classes, act),
        )
    return FlattenMLP(config.input_shape, config.classifier_hidden_dims, config.num_classes, act)


class M2(LatentVariableModel):
    """The semi-supervised VAE M2 (see the module doc). Labels: -1 marks an unlabelled row."""

    config_class = M2Config
    classifies = True

    def __init__(self, config: M2Config) -> None:
        super().__init__(config)
        self.likelihood = LIKELIHOODS[config.likelihood](config.input_shape)
        self.classifier = build_classifier(config)
        self.encoder = LabelledEncoder(config, config.num_classes, 2 * config.latent_dim)
        self.decoder = LabelledDecoder(config, config.num_classes, self.likelihood.params_per_dim)
        self.prior_module = StandardNormalPrior(config.latent_dim)

    @property
    def log_num_classes(self) -> float:
        """-log p(y) for the uniform p(y), nats."""
        return math.log(self.config.num_classes)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x)

    def prior(self) -> DiagonalGaussian:
        return self.prior_module()

    def _weights(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return label_weights(
            y.to(like.device), self.config.num_classes, dtype=like.dtype, model_name="m2"
        )

    def known_labels(self, x: torch.Tensor, y: Labels) -> torch.Tensor:
        """y with its unknown rows (-1, or all when y is None) set to the classifier's most
        probable class: (B,) int64."""
        guess = self.classify(x).argmax(dim=-1)
        if y is None or y.ndim != 1:
            return guess if y is None else y
        return torch.where(y >= 0, y.to(guess.device), guess)

    def encode(self, x: torch.Tensor, y: Labels = None) -> DiagonalGaussian:
        """q(z | x, y); rows without a label use the classifier's most probable class."""
        weights = self._weights(self.known_labels(x, y), x)
        mean, log_var = self.encoder(x, weights).chunk(2, dim=-1)
        return DiagonalGaussian(mean, log_var, event_ndim=1)

    def decode(
        self, z: torch.Tensor, y: Labels = None, *, generator: torch.Generator | None = None
    ) -> Distribution:
        """p(x | y, z). y: (B,) classes, (B, num_classes) soft labels, or None / -1 rows,
        which decode with the uniform soft label p(y) (there is no x to classify)."""
        if y is None:
            y = torch.full((z.shape[0],), -1, dtype=torch.long, device=z.device)
        if y.ndim == 1:
            uniform = torch.full(
                (z.shape[0], self.config.num_classes), 1.0 / self.config.num_classes
            ).to(z)
            known = y.to(z.device) >= 0
            weights = self._weights(y.clamp_min(0), z)
            y = torch.where(known[:, None], weights, uniform)
        return self.likelihood(self.decoder(z, self._weights(y, z)), generator=generator)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """Mean of p(x | y, z = mean of q(z | x, y)), unknown y from the classifier."""
        y = self.known_labels(x, y)
        return self.decode(self.encode(x, y).mean, y).mean

    def _class_terms(
        self, x: torch.Tensor, weights: torch.Tensor, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(log p(x | y, z), KL(q(z | x, y) || p(z))) for one z ~ q(z|x, y): two (B,) tensors.
        weights: (B, C) one-hot class rows."""
        mean, log_var = self.encoder(x, weights).chunk(2, dim=-1)
        posterior = DiagonalGaussian(mean, log_var, event_ndim=1)
        z = posterior.rsample(generator=generator)
        log_px = self.likelihood(self.decoder(z, weights)).log_prob(x)
        return log_px, kl(posterior, self.prior())

    def training_terms(
        self, x: torch.Tensor, *, y: Labels = None, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        """Per-example terms (B,) in nats of a mixed batch (see the module doc)."""
        batch, classes = x.shape[0], self.config.num_classes
        if y is None:
            y = torch.full((batch,), -1, dtype=torch.long, device=x.device)
        y = y.to(x.device)
        labelled = y >= 0
        log_q = torch.log_softmax(self.classify(x), dim=-1)  # (B, C)
        log_px = torch.zeros(batch, dtype=x.dtype, device=x.device)
        kl_total = torch.zeros_like(log_px)
        auxiliary = torch.zeros_like(log_px)
        if bool(labelled.any()):
            xl, yl = x[labelled], y[labelled]
            log_px_l, kl_l = self._class_terms(xl, self._weights(yl, x), generator)
            log_px[labelled] = log_px_l
            kl_total[labelled] = kl_l + self.log_num_classes
            nll_y = -log_q[labelled].gather(1, yl[:, None]).squeeze(1)
            # scaled by B / B_labelled, so the batch mean is alpha times the mean cross-entropy
            # of the labelled rows, as with separate labelled batches (a row-count weighting
            # would shrink alpha by the labelled fraction, ~1/55 at 1,000 of 55,000 labels)
            share = batch / xl.shape[0]
            auxiliary[labelled] = self.config.classifier_weight * share * nll_y
        if not bool(labelled.all()):
            xu, log_qu = x[~labelled], log_q[~labelled]
            num = xu.shape[0]
            # every example with every class: row c * num + b is example b with class c
            every = torch.eye(classes, dtype=x.dtype, device=x.device).repeat_interleave(num, 0)
            log_px_u, kl_u = self._class_terms(
                xu.repeat(classes, *[1] * (x.ndim - 1)), every, generator
            )
            q = log_qu.exp()  # (num, C)
            log_px[~labelled] = (q * log_px_u.view(classes, num).T).sum(-1)
            kl_y = (q * (log_qu + self.log_num_classes)).sum(-1)  # KL(q(y|x) || uniform)
            kl_total[~labelled] = (q * kl_u.view(classes, num).T).sum(-1) + kl_y
        return ELBOTerms(log_px, kl_total, auxiliary_loss=auxiliary)

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
        """log p(x) >= log sum_y p(y) (1/K) sum_k w_yk, w_yk = p(x, z_k | y) / q(z_k | x, y):
        the log of an unbiased estimate of p(x), so a lower bound in expectation (Jensen).
        K = k samples per class; (B,) nats. y is ignored: this is log p(x)."""
        per_class = []
        for label in range(self.config.num_classes):
            weights = self._weights(torch.full((x.shape[0],), label, device=x.device), x)
            mean, log_var = self.encoder(x, weights).chunk(2, dim=-1)
            posterior = DiagonalGaussian(mean, log_var, event_ndim=1)

            def decode(z: torch.Tensor, weights: torch.Tensor = weights) -> Distribution:
                return self.likelihood(self.decoder(z, tile_rows(weights, z.shape[0])))

            per_class.append(
                chunked_iwae(
                    lambda size, posterior=posterior, decode=decode: log_importance_weights(
                        x, posterior, self.prior(), decode, size, generator=generator
                    ),
                    k,
                    chunk_size,
                )
            )
        return torch.logsumexp(torch.stack(per_class), dim=0) - self.log_num_classes

    @torch.no_grad()
    def sample(
        self,
        num_samples: int,
        *,
        y: Labels = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Means of p(x | y, z), z ~ N(0, temperature^2 I): (num_samples, *input_shape).
        y: (num_samples,) classes or soft labels; None draws y from the uniform p(y)."""
        prior = self.prior().with_temperature(temperature)
        z = prior.rsample_n(num_samples, generator=generator)
        if y is None:
            y = torch.randint(
                self.config.num_classes, (num_samples,), generator=generator, device=z.device
            )
        elif y.shape[0] != num_samples:
            raise ConfigError(f"got {y.shape[0]} labels for {num_samples} samples")
        return self.decode(z, y, generator=generator).mean
