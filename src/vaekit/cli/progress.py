"""Progress on stderr for fit() and the long commands: the CLI owns all terminal output.

A live bar is drawn only on a terminal: in a log file or a pipe its carriage returns and
redraws would pile up as noise, so there the per-epoch lines are all that is written.
--quiet hides the bar only; the per-epoch lines are the record of a run and always appear.
"""

from __future__ import annotations

import sys

from tqdm import tqdm

from vaekit.training import TrainCallback


def show_bar(quiet: bool) -> bool:
    """Whether to draw a live progress bar: not asked to be quiet, and stderr is a terminal."""
    isatty = getattr(sys.stderr, "isatty", None)
    return not quiet and callable(isatty) and bool(isatty())


class ProgressBar(TrainCallback):
    """Shows steps, loss, reconstruction and KL (nats/example) in a bar (when `enabled`), and
    one line per epoch with the validation ELBO (always)."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: tqdm | None = None

    def on_fit_start(self, state, total_steps: int) -> None:
        if not self.enabled:
            return
        self.bar = tqdm(
            total=total_steps,
            initial=min(state.step, total_steps),
            unit="step",
            file=sys.stderr,
            dynamic_ncols=True,
        )

    def on_step(self, state, metrics: dict[str, float]) -> None:
        if self.bar is None:
            return
        self.bar.update(state.step - self.bar.n)
        if "train_loss" in metrics:
            self.bar.set_postfix(
                epoch=int(metrics["epoch"]) + 1,
                loss=f"{metrics['train_loss']:.2f}",
                recon=f"{metrics['train_reconstruction_nats']:.2f}",
                kl=f"{metrics['train_kl_nats']:.2f}",
            )

    def on_epoch_end(self, state, metrics: dict[str, float]) -> None:
        loss = metrics.get("train_loss", float("nan"))
        line = f"epoch {int(metrics['epoch'])}: train loss {loss:.2f}"
        if "val_elbo_nats" in metrics:
            line += (
                f", val ELBO {metrics['val_elbo_nats']:.2f} nats "
                f"({metrics['val_bits_per_dim']:.4f} bits/dim)"
            )
        if "val_accuracy" in metrics:
            line += f", val accuracy {100 * metrics['val_accuracy']:.2f}%"
        line += f", {metrics['train_samples_per_second']:.0f} samples/s"
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def on_fit_end(self, state) -> None:
        if self.bar is not None:
            self.bar.close()
