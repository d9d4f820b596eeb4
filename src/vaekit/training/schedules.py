"""Schedules over training steps."""

from __future__ import annotations

import math

LR_SCHEDULES = ("constant", "cosine")


def kl_weight(step: int, *, beta: float, warmup_steps: int) -> float:
    """Linear KL warm-up: 0 at step 0, `beta` from `warmup_steps` on (Bowman et al., 2016)."""
    if warmup_steps <= 0:
        return beta
    return beta * min(1.0, step / warmup_steps)


def lr_factor(
    schedule: str, progress: float, step: int, *, warmup_steps: int, final_factor: float
) -> float:
    """Multiplier of the base learning rate.

    A linear warm-up from 1/warmup_steps to 1 over the first `warmup_steps` steps, times
    either 1 ("constant") or a half cosine from 1 down to `final_factor` as `progress` goes
    from 0 to 1 (Loshchilov & Hutter 2017, without restarts). progress is the fraction of the
    run done: steps taken over steps planned, or seconds spent over a time budget.
    """
    warmup = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    if schedule == "constant":
        return warmup
    progress = min(max(progress, 0.0), 1.0)
    return warmup * (final_factor + (1 - final_factor) * 0.5 * (1 + math.cos(math.pi * progress)))
