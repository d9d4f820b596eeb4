"""A hierarchical VAE's networks as exact networks, stepped along its top-down path.

The hierarchical coder (bitsback_hierarchical.py) walks the path one stochastic layer at a
time, so this module offers the steps, not whole passes: `features` (the bottom-up pass),
`initial_state`, then per layer `prior_at`, `posterior_at`, `latent_values` and `advance`,
and finally `likelihood_params`. Shapes: x symbols (B, D_x), states and features (B, W),
one layer's latents (B, D), with W = state_dim and D = latent_dim per layer.

Exactness follows fixed_point.py: every Linear/Conv is quantized by exact_network (weights
on a grid, outputs rounded to 2**-16 and clamped to +-4096); the encoder and decoder run as
exact_networks, the small per-layer modules as the same quantized weights in numpy
(ExactLinear, ExactResidualBlock). A residual cell adds two grid values, which is exact in
float64; the sum is clamped to +-4096 again, as is `state + W_l z_l`, so every layer input
stays within the bound exact_network assumed. The model's soft clamp of
log-variances (8 tanh(v / 8)) and the prior's standard deviations use the decimal tables of
tables.py, never libm. So every number here is the same whatever the batch layout, thread
count or CPU.

Latent buckets: layer l is discretized into the 2**precision equal-mass buckets of its own
conditional prior p(z_l | z_>l) = N(m, s^2), i.e. the N(0, 1) buckets of the single-layer
coder in the standardized coordinate u = (z - m) / s. In u the posterior is
N((mu_q - m) / s, (s_q / s)^2), so its bucket masses come from the same Phi table, and
bucket k decodes to z = m + s c_k (c_k the N(0, 1) bucket median), rounded to 2**-16.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from vaekit.compression.coding_models import bucket_centres
from vaekit.compression.fixed_point import ACTIVATION_BITS, ACTIVATION_LIMIT, exact_network
from vaekit.compression.level_tree import TREE_CODED
from vaekit.compression.networks import SYMBOL_LEVELS, check_codable, run_in_passes
from vaekit.compression.tables import exp_table, tanh_table
from vaekit.errors import ConfigError
from vaekit.models import HierarchicalVAE
from vaekit.models.hierarchical import LOG_VAR_BOUND


def on_grid(values: np.ndarray) -> np.ndarray:
    """Round to the activation grid 2**-16 and clamp to +-ACTIVATION_LIMIT, in place (exact
    IEEE operations: powers of two and round-half-even)."""
    np.multiply(values, 2.0**ACTIVATION_BITS, out=values)
    np.rint(values, out=values)
    np.multiply(values, 2.0**-ACTIVATION_BITS, out=values)
    np.clip(values, -ACTIVATION_LIMIT, ACTIVATION_LIMIT, out=values)
    return values


def soft_clamp(values: np.ndarray) -> np.ndarray:
    """The model's soft_clamp, bound * tanh(v / bound), with the tabulated tanh: (...) -> (...)."""
    return LOG_VAR_BOUND * tanh_table()(values / LOG_VAR_BOUND)


@dataclass(frozen=True)
class LayerPrior:
    """p(z_l | z_>l) of one layer: mean and soft-clamped log-variance, each (B, D)."""

    mean: np.ndarray
    log_var: np.ndarray


class HierarchicalCodingNetworks:
    """Exact copies of a HierarchicalVAE's networks (see the module docstring)."""

    def __init__(self, model: HierarchicalVAE, *, rows_per_pass: int | None = None) -> None:
        if not isinstance(model, HierarchicalVAE):
            raise ConfigError(f"{type(model).__name__} is not a hierarchical VAE (hvae)")
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
        self.num_layers = config.num_latent_layers
        self.layer_dim = config.latent_dim
        self.latent_dim = self.num_layers * self.layer_dim
        self.encoder = exact_network(
            model.encoder,
            input_limit=self.levels - 1,
            input_bits=0,
            input_scale=1.0 / (self.levels - 1),
        )
        self.bottom_up = [ExactResidualBlock(block) for block in model.bottom_up]
        self.prior_heads = [ExactLinear(head) for head in model.prior_heads]
        self.posterior_heads = [ExactLinear(head) for head in model.posterior_heads]
        self.latent_in = [ExactLinear(layer) for layer in model.latent_in]
        self.cells = [ExactResidualBlock(cell) for cell in model.cells]
        self.decoder = _exact_inner(model.decoder)
        self.top_state = on_grid(model.top_state.detach().double().numpy().copy())  # (W,)
        # outputs do not depend on how rows are grouped into passes; tests vary this to prove it
        self.rows_per_pass = rows_per_pass

    def _apply(self, layer: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray) -> np.ndarray:
        step = self.rows_per_pass or max(1, inputs.shape[0])
        return np.concatenate([layer(inputs[i : i + step]) for i in range(0, len(inputs), step)])

    @torch.no_grad()
    def features(self, symbols: np.ndarray) -> list[np.ndarray]:
        """symbols (B, D_x) int -> the bottom-up features [h_L, ..., h_1], each (B, W)."""
        x = torch.from_numpy(symbols.astype(np.float64)).view(-1, *self.input_shape)
        h = run_in_passes(self.encoder, x, self.rows_per_pass).numpy()
        found = [h]
        for block in self.bottom_up:
            h = self._apply(block, h)
            found.append(h)
        return found[::-1]

    def initial_state(self, batch: int) -> np.ndarray:
        """The learned top state s_L for `batch` rows: (B, W)."""
        return np.repeat(self.top_state[None], batch, axis=0)

    @torch.no_grad()
    def prior_at(self, index: int, state: np.ndarray) -> LayerPrior:
        """p(z_l | z_>l) for layer `index` (0 = top, whose prior is N(0, I))."""
        if index == 0:
            zeros = np.zeros((state.shape[0], self.layer_dim))
            return LayerPrior(zeros, zeros.copy())
        raw = self._apply(self.prior_heads[index - 1], state)
        return LayerPrior(raw[:, : self.layer_dim], soft_clamp(raw[:, self.layer_dim :]))

    @torch.no_grad()
    def posterior_at(
        self, index: int, state: np.ndarray, feature: np.ndarray, prior: LayerPrior
    ) -> tuple[np.ndarray, np.ndarray]:
        """q(z_l | x, z_>l) in the prior's standardized coordinate: mean and log-variance of
        (z - m) / s, each (B, D). The model's posterior is the prior's plus a correction
        (residual form) below the top layer, and the correction itself at the top."""
        raw = self._apply(self.posterior_heads[index], np.concatenate([state, feature], axis=1))
        delta_mean, delta_log_var = raw[:, : self.layer_dim], raw[:, self.layer_dim :]
        if index == 0:
            return delta_mean, soft_clamp(delta_log_var)
        inv_std = exp_table()(-0.5 * prior.log_var)
        # mu_q - m is delta_mean exactly; log s_q^2 - log s^2
        log_var = soft_clamp(prior.log_var + delta_log_var) - prior.log_var
        return delta_mean * inv_std, log_var

    def latent_values(self, prior: LayerPrior, buckets: np.ndarray, precision: int) -> np.ndarray:
        """Bucket indices (B, D) of p(z_l | z_>l) -> the z_l the path continues with, (B, D)."""
        std = exp_table()(0.5 * prior.log_var)
        return on_grid(prior.mean + std * bucket_centres(precision)[buckets])

    @torch.no_grad()
    def advance(self, index: int, state: np.ndarray, z: np.ndarray) -> np.ndarray:
        """s_{l-1} = cell_l(s_l + W_l z_l): (B, W), (B, D) -> (B, W)."""
        entering = on_grid(state + self._apply(self.latent_in[index], z))
        return self._apply(self.cells[index], entering)

    @torch.no_grad()
    def likelihood_params(self, state: np.ndarray) -> np.ndarray:
        """Final state (B, W) -> decoder outputs (B, P, D_x), as CodingNetworks returns them."""
        features = run_in_passes(self.decoder, torch.from_numpy(state), self.rows_per_pass)
        return features.numpy().reshape(features.shape[0], -1, self.num_dims)


class ExactLinear:
    """A Linear layer fed activations, quantized as exact_network does and run with numpy:
    x (B, in) -> (B, out), on the activation grid. numpy's small float64 matmuls skip the
    thread pool that costs torch milliseconds a call on a busy machine; the products and
    sums are exact either way, so the result is the same."""

    def __init__(self, layer: nn.Linear, *, quantized: bool = False) -> None:
        exact = layer if quantized else _exact_inner(layer)
        self.weight = exact.weight.detach().numpy().T.copy()  # (in, out)
        self.bias = np.zeros(self.weight.shape[1])
        if exact.bias is not None:
            self.bias = exact.bias.detach().numpy().copy()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return on_grid(x @ self.weight + self.bias)


class ExactResidualBlock:
    """nn.ResidualBlock, x + linear(relu(linear(relu(x)))), exactly: (B, W) -> (B, W). The
    sum of two grid values is exact; it is clamped so the next layer's input stays bounded."""

    def __init__(self, block: nn.Module) -> None:
        linears = [m for m in _exact_inner(block).modules() if isinstance(m, nn.Linear)]
        if len(linears) != 2:
            raise ConfigError(f"expected a residual block of two Linear layers, got {block}")
        self.first, self.second = (ExactLinear(m, quantized=True) for m in linears)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        hidden = np.maximum(self.first(np.maximum(x, 0.0)), 0.0)
        return on_grid(x + self.second(hidden))


def _exact_inner(module: torch.nn.Module) -> torch.nn.Module:
    """An exact copy of a module fed activations (2**-16 grid, |value| <= 4096)."""
    return exact_network(module, input_limit=ACTIVATION_LIMIT, input_bits=ACTIVATION_BITS)
