"""The machine's ceiling: how fast the model's own GEMMs run with nothing else around them.

Shapes are taken from the model itself: a forward hook on every nn.Linear records the rows
it sees, and a training step needs three GEMMs per layer (forward, weight gradient, input
gradient; the first layer's input gradient is not needed).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn


def linear_gemm_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int]]:
    """(m, k, n) of every GEMM in one training step of `model` on batch x (MLP layers only)."""
    rows: list[tuple[int, int, int]] = []
    hooks = [
        module.register_forward_hook(
            lambda mod, inputs, _out: rows.append(
                (inputs[0].reshape(-1, mod.in_features).shape[0], mod.in_features, mod.out_features)
            )
        )
        for module in model.modules()
        if isinstance(module, nn.Linear)
    ]
    with torch.no_grad():
        model.training_terms(x)
    for hook in hooks:
        hook.remove()
    shapes = []
    for index, (batch, fan_in, fan_out) in enumerate(rows):
        shapes.append((batch, fan_in, fan_out))  # forward
        shapes.append((fan_out, batch, fan_in))  # weight gradient
        if index > 0:
            shapes.append((batch, fan_out, fan_in))  # input gradient
    return shapes


def gemm_pass(shapes: list[tuple[int, int, int]]) -> Callable[[], None]:
    """A function that runs every GEMM of `shapes` once, on operands made here (warmed up)."""
    operands = [(torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)) for m, k, n in shapes]

    def run() -> None:
        for a, b, out in operands:
            torch.mm(a, b, out=out)

    run()
    return run


def time_gemms(shapes: list[tuple[int, int, int]], repeats: int = 50) -> float:
    """Seconds for one pass over all GEMMs (median of `repeats`)."""
    run = gemm_pass(shapes)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def gemm_flops(shapes: list[tuple[int, int, int]]) -> int:
    return sum(2 * m * k * n for m, k, n in shapes)


def square_gemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """fp32 GFLOP/s of one large square GEMM: the machine's best case."""
    shapes = [(size, size, size)]
    return gemm_flops(shapes) / time_gemms(shapes, repeats) / 1e9
