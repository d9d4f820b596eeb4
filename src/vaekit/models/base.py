"""The protocol every vaekit model follows: one declared interface plus capability flags."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar

import torch
from torch import nn

from vaekit.distributions import Distribution
from vaekit.objectives import ELBOTerms, ImportanceTerms

Labels = torch.Tensor | None  # (B,) int64 class indices, -1 where unknown; or None


class LatentVariableModel(nn.Module, metaclass=ABCMeta):
    """The declared interface of every registered model.

    Subclasses set `config_class`, build their networks from the config alone, and implement
    the abstract methods; the others raise NotImplementedError unless the class declares the
    capability that promises them. Capabilities are class attributes, so callers ask the
    model instead of testing its type:
    - `has_likelihood_bound`: `prior`, `elbo`, `log_likelihood` and `sample` are defined
      (False for the deterministic AE).
    - `is_conditional`: every method that sees x or draws samples takes the labels `y` and
      models p(x | y); evaluation passes the test labels and reports log p(x | y).
    - `classifies`: `classify(x)` gives class logits (B, num_classes) and training uses the
      labels it is given, -1 marking unknown ones (semi-supervised); evaluation reports
      accuracy.
    - `training_objectives`: the objectives (names in vaekit.objectives.OBJECTIVES) the model
      trains on; "iwae" needs `importance_terms`. A new model trains on the ELBO alone until
      it declares more.
    - `supports_fused_mlp`: vaekit.models.fused_mlp computes this class's own loss. Read from
      the class itself and never inherited (see `fused_mlp_supported`): a subclass may change
      the loss or the networks, so it gets autograd unless it declares the flag again.

    Every method that takes x also takes `y` (keyword): labels as in `Labels`. Models that
    are neither conditional nor classifying ignore it, so the trainer passes what the batch
    holds with no case per model.
    """

    config_class: ClassVar[type]
    has_likelihood_bound: ClassVar[bool] = True
    is_conditional: ClassVar[bool] = False
    classifies: ClassVar[bool] = False
    training_objectives: ClassVar[tuple[str, ...]] = ("elbo",)
    supports_fused_mlp: ClassVar[bool] = False

    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        # sections of config.json that travel with the weights (data spec, training config)
        self.metadata: dict[str, Any] = {}

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.config.input_shape)

    @property
    def num_classes(self) -> int | None:
        """Classes of the labels a model that reads them was built for; None otherwise."""
        return getattr(self.config, "num_classes", None)

    @property
    def uses_labels(self) -> bool:
        """Whether training reads the batch's labels."""
        return self.is_conditional or self.classifies

    @classmethod
    def supports_objective(cls, objective: str) -> bool:
        """True if the model can be trained on `objective` ("elbo", "iwae", ...)."""
        return objective in cls.training_objectives

    @abstractmethod
    def encode(self, x: torch.Tensor, y: Labels = None) -> Distribution:
        """x: (B, *input_shape) -> q(z|x[, y]) with batch (B,), event (latent_dim,)."""

    @abstractmethod
    def decode(self, z: torch.Tensor, y: Labels = None) -> Distribution:
        """z: (B, latent_dim) -> p(x|z[, y]) with batch (B,), event input_shape."""

    @abstractmethod
    def training_terms(
        self, x: torch.Tensor, *, y: Labels = None, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        """Per-example (B,) terms the trainer turns into a loss."""

    def prior(self) -> Distribution:
        """p(z): a distribution with event (latent_dim,) and an empty batch shape."""
        raise NotImplementedError(f"{type(self).__name__} has no prior")

    def importance_terms(
        self,
        x: torch.Tensor,
        num_samples: int,
        *,
        y: Labels = None,
        generator: torch.Generator | None = None,
    ) -> ImportanceTerms:
        """K importance samples per example, (K, B) terms in nats, for IWAE training."""
        raise NotImplementedError(f"{type(self).__name__} has no importance-weighted bound")

    def elbo(
        self, x: torch.Tensor, *, y: Labels = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """One-sample ELBO per example: (B,) nats, higher is better; the bound the training
        terms give (for a model that classifies, on log p(x, y) where y is known and on
        log p(x) elsewhere; for a conditional model, on log p(x | y))."""
        if not self.has_likelihood_bound:
            raise NotImplementedError(f"{type(self).__name__} has no likelihood bound")
        return self.training_terms(x, y=y, generator=generator).elbo

    def log_likelihood(
        self,
        x: torch.Tensor,
        k: int = 1000,
        *,
        y: Labels = None,
        chunk_size: int | None = 200,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Importance-weighted log p(x[ | y]) estimate, K = k samples: (B,) nats."""
        raise NotImplementedError(f"{type(self).__name__} has no likelihood bound")

    def sample(
        self,
        num_samples: int,
        *,
        y: Labels = None,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Means of p(x|z[, y]) for z from the prior: (num_samples, *input_shape)."""
        raise NotImplementedError(f"{type(self).__name__} cannot sample: it has no prior")

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, *input_shape) -> class logits (B, num_classes); models that `classifies`."""
        raise NotImplementedError(f"{type(self).__name__} does not classify")

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: Labels = None) -> torch.Tensor:
        """Mean of p(x | z = mean of q(z|x)): (B, *input_shape)."""
        return self.decode(self.encode(x, y).mean, y).mean

    def save_pretrained(self, directory: str) -> None:
        """Write config.json + model.safetensors into `directory` (atomically per file)."""
        from vaekit.models.serialization import save_model

        save_model(self, directory)

    @classmethod
    def from_pretrained(cls, directory: str) -> LatentVariableModel:
        """Load a model saved by save_pretrained or a training run directory."""
        from vaekit.models.serialization import load_model

        return load_model(directory, expected_class=cls)
