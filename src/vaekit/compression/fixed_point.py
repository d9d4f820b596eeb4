"""The model's networks in exact fixed-point arithmetic, so the coder sees the same numbers
whatever the batch layout, thread count or CPU.

float32 matmuls differ in their low bits with blocking and threads (BLAS sums in different
orders), and one flipped bit in a coded probability desynchronizes the ANS stack. Here every
weight is rounded to a grid of 2**-w, every layer input lies on a grid of 2**-a with a known
bound, and the matmul runs in float64 on those values: each product and partial sum is a
multiple of 2**-(w + a) smaller than 2**(53 - w - a), hence exact in float64, so the sum is
the same in any order. Each layer's output is rounded back to the activation grid (with
torch.round, exact) and clamped. ReLU, reshapes and padding are exact too; other activations
(exp, tanh, erf) are not, so coding needs `activation="relu"`.

The quantized networks are a slightly different model from the float32 one; the rate is
measured with them, and the benchmark reports how close it stays to the float32 ELBO.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from vaekit.errors import ConfigError

ACTIVATION_BITS = 16  # fraction bits of every hidden activation
ACTIVATION_LIMIT = 2.0**12  # |activation| clamp: far above what trained ReLU nets produce
MAX_WEIGHT_BITS = 32
_EXACT_BITS = 52  # < 53: float64 integers stay exact, with a bit to spare
_LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


def _input_magnitude_bits(input_limit: float, input_bits: int) -> int:
    """log2 of the largest layer input, in units of its grid: bound * 2**input_bits."""
    return int(input_limit).bit_length() + input_bits


def _weight_bits(weight: torch.Tensor, input_exponent: int) -> int:
    """Fraction bits w such that sum_j |w_ij| * |a_j| < 2**52 in grid units for every output.

    weight: (out, ...). The L1 norm of each output's weights bounds every partial sum of that
    output; it is taken on a 2**-30 integer grid so the choice is exact and machine independent.
    """
    as_ints = torch.round(weight.double().abs() * 2.0**30).to(torch.int64)
    largest = int(as_ints.flatten(start_dim=1).sum(dim=1).max()) + 1
    norm_exponent = largest.bit_length() - 30  # 2**norm_exponent > max L1 norm
    bits = _EXACT_BITS - 1 - input_exponent - norm_exponent
    if bits < 8:
        raise ConfigError(
            f"layer weights too large for exact fixed-point coding (L1 norm ~2**{norm_exponent})"
        )
    return min(bits, MAX_WEIGHT_BITS)


def _output_rows(module: nn.Module) -> torch.Tensor:
    """Weights grouped by output unit: (out, fan_in...)."""
    if isinstance(module, nn.ConvTranspose2d):  # stored (in, out, kh, kw)
        return module.weight.detach().transpose(0, 1)
    return module.weight.detach()


def _quantize_layer(module: nn.Module, input_limit: float, input_bits: int, scale: float) -> None:
    """Round weights (times `scale`) to 2**-w and bias to 2**-(w + a), in place, float64."""
    input_exponent = _input_magnitude_bits(input_limit, input_bits)
    rows = _output_rows(module).double() * scale
    weight_bits = _weight_bits(rows, input_exponent)
    with torch.no_grad():
        weight = module.weight.double() * scale
        module.weight.copy_(torch.round(weight * 2.0**weight_bits) / 2.0**weight_bits)
        if module.bias is not None:
            grid = 2.0 ** (weight_bits + input_bits)
            bias = torch.round(module.bias.double() * grid) / grid
            module.bias.copy_(bias.clamp(-ACTIVATION_LIMIT, ACTIVATION_LIMIT))


def _round_output(module: nn.Module, inputs, output: torch.Tensor) -> torch.Tensor:
    """Round a layer's output to the activation grid and clamp it, in place.

    In numpy: torch's elementwise float64 kernels fan out to its thread pool, which on a
    busy 2-core machine costs ~100x more than the work. Scaling by powers of two and
    round-half-even are exact, so the result is the same either way.
    """
    values = output.numpy()
    np.multiply(values, 2.0**ACTIVATION_BITS, out=values)
    np.rint(values, out=values)
    np.multiply(values, 2.0**-ACTIVATION_BITS, out=values)
    np.clip(values, -ACTIVATION_LIMIT, ACTIVATION_LIMIT, out=values)
    return output


class _InPlaceReLU(nn.Module):
    """max(x, 0) in place with numpy (exact), for the same reason as _round_output."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = x.numpy()
        np.maximum(values, 0.0, out=values)
        return x


def _swap_relus(network: nn.Module) -> None:
    for name, child in network.named_children():
        if isinstance(child, nn.ReLU):
            setattr(network, name, _InPlaceReLU())
        else:
            _swap_relus(child)


def exact_network(
    network: nn.Module, *, input_limit: float, input_bits: int, input_scale: float = 1.0
) -> nn.Module:
    """A float64 copy of `network` whose forward pass is exact (see the module docstring).

    input_limit, input_bits: the inputs it will get are multiples of 2**-input_bits with
    |value| <= input_limit. input_scale multiplies the first layer's weights, e.g. 1/255 when
    it is fed integer levels 0..255 instead of the k/255 floats it was trained on.
    """
    exact = copy.deepcopy(network).double().eval().requires_grad_(False)
    _swap_relus(exact)
    layers = [m for m in exact.modules() if isinstance(m, _LAYERS)]
    if not layers:
        raise ConfigError("exact coding needs a network of Linear/Conv layers")
    for i, module in enumerate(layers):
        if i == 0:
            _quantize_layer(module, input_limit, input_bits, input_scale)
        else:
            _quantize_layer(module, ACTIVATION_LIMIT, ACTIVATION_BITS, 1.0)
        module.register_forward_hook(_round_output)
    return exact
