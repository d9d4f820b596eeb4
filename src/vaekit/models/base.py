"""The protocol every vaekit model follows: encode, decode, prior, training terms."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from vaekit.distributions import Distribution
from vaekit.objectives import ELBOTerms, ImportanceTerms


class LatentVariableModel(nn.Module):
    """Base class of registered models.

    Subclasses set `config_class`, build their networks from the config alone, and implement
    encode/decode/training_terms. Capabilities are declared as class attributes, so that
    callers ask the model instead of testing its type:
    - `has_likelihood_bound`: `elbo` and `log_likelihood` are defined (False for the
      deterministic AE).
    - `training_objectives`: the objectives (names in vaekit.objectives.OBJECTIVES) the model
      trains on; "iwae" needs `importance_terms`. A new model trains on the ELBO alone until
      it declares more.
    - `supports_fused_mlp`: vaekit.models.fused_mlp computes this class's own loss. Read from
      the class itself and never inherited (see `fused_mlp_supported`): a subclass may change
      the loss or the networks, so it gets autograd unless it declares the flag again.
    """

    config_class: ClassVar[type]
    has_likelihood_bound: ClassVar[bool] = True
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

    @classmethod
    def supports_objective(cls, objective: str) -> bool:
        """True if the model can be trained on `objective` ("elbo", "iwae", ...)."""
        return objective in cls.training_objectives

    def encode(self, x: torch.Tensor) -> Distribution:
        """x: (B, *input_shape) -> q(z|x) with batch (B,), event (latent_dim,)."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> Distribution:
        """z: (B, latent_dim) -> p(x|z) with batch (B,), event input_shape."""
        raise NotImplementedError

    def training_terms(
        self, x: torch.Tensor, *, generator: torch.Generator | None = None
    ) -> ELBOTerms:
        """Per-example (B,) terms the trainer turns into a loss."""
        raise NotImplementedError

    def importance_terms(
        self, x: torch.Tensor, num_samples: int, *, generator: torch.Generator | None = None
    ) -> ImportanceTerms:
        """K importance samples per example, (K, B) terms in nats, for IWAE training."""
        raise NotImplementedError(f"{type(self).__name__} has no importance-weighted bound")

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of p(x | z = mean of q(z|x)): (B, *input_shape)."""
        return self.decode(self.encode(x).mean).mean

    def save_pretrained(self, directory: str) -> None:
        """Write config.json + model.safetensors into `directory` (atomically per file)."""
        from vaekit.models.serialization import save_model

        save_model(self, directory)

    @classmethod
    def from_pretrained(cls, directory: str) -> LatentVariableModel:
        """Load a model saved by save_pretrained or a training run directory."""
        from vaekit.models.serialization import load_model

        return load_model(directory, expected_class=cls)
