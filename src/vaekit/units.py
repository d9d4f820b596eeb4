"""Unit conversions: the one place nats become bits per dimension."""

import math

import torch

LN2 = math.log(2.0)


def nats_to_bits_per_dim(nats: float | torch.Tensor, num_dims: int) -> float | torch.Tensor:
    """Convert a per-example code length in nats to bits per data dimension.

    nats: scalar or (B,) tensor, nats per example; num_dims: dimensions per example.
    Returns the same type, in bits/dim.
    """
    return nats / (num_dims * LN2)
