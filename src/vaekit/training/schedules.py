"""Schedules over training steps."""

from __future__ import annotations


def kl_weight(step: int, *, beta: float, warmup_steps: int) -> float:
    """Linear KL warm-up: 0 at step 0, `beta` from `warmup_steps` on (Bowman et al., 2016)."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)
