"""A VAE's encoder and decoder as exact networks, with the symbol <-> input conventions.

Symbols are what the coder stores: 0/1 for a Bernoulli model, levels 0..255 for a
discretized logistic or a mixture of them. The networks take them as exact float64 inputs
(levels are fed as integers, the 1/255 folded into the first layer's weights) and return
float64 numpy arrays.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from vaekit.compression.fixed_point import exact_network
from vaekit.compression.level_tree import TREE_CODED
from vaekit.errors import ConfigError
from vaekit.models import VAE, HierarchicalVAE, LatentVariableModel

SYMBOL_LEVELS = {"bernoulli": 2, "discretized_logistic": 256, "discretized_logistic_mixture": 256}
# architectures whose forward passes use only layers fixed_point.py makes exact, ReLU,
# reshapes and padding (checked by reading nn/mlp.py and nn/conv.py)
EXACT_ARCHITECTURES = ("mlp", "conv")
_LATENT_LIMIT = 16.0  # bucket centres lie within +-9 (the tables' range)


def check_codable(model: LatentVariableModel) -> None:
    """ConfigError unless the bits-back coder can run `model` exactly: a VAE or a
    hierarchical VAE with the standard_normal prior (of the top layer), a likelihood of
    SYMBOL_LEVELS and ReLU networks of an exact architecture."""
    config = model.config
    if not isinstance(model, (VAE, HierarchicalVAE)):
        raise ConfigError(
            f"a {type(model).__name__} cannot be coded: compression needs a VAE "
            "(--model vae or hvae), whose posterior and prior the bits-back coder uses"
        )
    if config.prior != "standard_normal":
        raise ConfigError(f"compression needs the standard_normal prior, not {config.prior}")
    if config.likelihood not in SYMBOL_LEVELS:
        raise ConfigError(
            f"compression supports the {' and '.join(SYMBOL_LEVELS)} likelihoods, "
            f"not {config.likelihood!r}"
        )
    if config.arch not in EXACT_ARCHITECTURES:
        raise ConfigError(
            f"exact coding supports the {' and '.join(EXACT_ARCHITECTURES)} architectures, "
            f"not {config.arch!r}"
        )
    if config.activation != "relu":
        raise ConfigError(
            f"exact coding needs ReLU networks, this model uses {config.activation!r}"
        )


def run_in_passes(
    network: torch.nn.Module, inputs: torch.Tensor, rows_per_pass: int | None
) -> torch.Tensor:
    """network(inputs) over slices of rows_per_pass rows (None: one pass): (B, ...)."""
    step = rows_per_pass or max(1, inputs.shape[0])
    return torch.cat([network(inputs[i : i + step]) for i in range(0, inputs.shape[0], step)])


class CodingNetworks:
    """Exact copies of a VAE's networks. Shapes: x symbols (B, D), latents (B, L)."""

    def __init__(self, model: LatentVariableModel, *, rows_per_pass: int | None = None) -> None:
        if isinstance(model, HierarchicalVAE):
            raise ConfigError(
                "a hierarchical VAE is coded by HierarchicalCodingNetworks "
                "(compression/hierarchy.py), not by the single-layer coder"
            )
        check_codable(model)
        config = model.config
        self.likelihood = config.likelihood
        # 8-bit models code levels and latent buckets down binary trees (format version 3;
        # level_tree.py); decompress sets this from the file's version, as versions 1 and 2
        # hold one probability row per symbol
        self.tree_coded = config.likelihood in TREE_CODED
        self.levels = SYMBOL_LEVELS[config.likelihood]
        self.input_shape = tuple(config.input_shape)
        self.num_dims = math.prod(self.input_shape)
        self.latent_dim = config.latent_dim
        self.encoder = exact_network(
            model.encoder,
            input_limit=self.levels - 1,
            input_bits=0,
            input_scale=1.0 / (self.levels - 1),
        )
        self.decoder = exact_network(model.decoder, input_limit=_LATENT_LIMIT, input_bits=16)
        # exactness makes outputs independent of how rows are grouped into passes; this knob
        # exists so tests can prove it
        self.rows_per_pass = rows_per_pass

    def _run(self, network: torch.nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        return run_in_passes(network, inputs, self.rows_per_pass)

    @torch.no_grad()
    def posterior(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """symbols (B, D) int -> posterior mean and log-variance, each (B, L) float64."""
        x = torch.from_numpy(symbols.astype(np.float64)).view(-1, *self.input_shape)
        mean, log_var = self._run(self.encoder, x).chunk(2, dim=-1)
        return mean.numpy(), log_var.numpy()

    @torch.no_grad()
    def likelihood_params(self, z: np.ndarray) -> np.ndarray:
        """z (B, L) on the 2**-16 grid -> decoder outputs (B, P, D): P = 1 (logits), 2
        (loc, log-scale) or 3 M (M mixture logits, M locs, M log-scales), in the order of the
        likelihood head's channels."""
        features = self._run(self.decoder, torch.from_numpy(z))  # (B, P * C, ...)
        # heads take parameter groups as leading blocks of channels (or features), so a
        # channel-major reshape separates them
        return features.reshape(features.shape[0], -1, self.num_dims).numpy()
