"""Hooks through which callers (the CLI's progress bar, reports) watch fit()."""

from __future__ import annotations

from typing import Any


class TrainCallback:
    """No-op base: override what you need. Metrics are plain floats."""

    def on_fit_start(self, state: Any, total_steps: int) -> None:
        """Called once; state.step > 0 when resuming."""

    def on_step(self, state: Any, metrics: dict[str, float]) -> None:
        """Called every `log_every` steps with running means since the last call."""

    def on_epoch_end(self, state: Any, metrics: dict[str, float]) -> None:
        """Called after validation and checkpointing at the end of each epoch."""

    def on_fit_end(self, state: Any) -> None:
        """Called once when training finishes or stops early."""
