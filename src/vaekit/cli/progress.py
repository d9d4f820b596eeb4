"""A tqdm progress bar for fit(), on stderr: the CLI owns all terminal output."""

from __future__ import annotations

import sys

from tqdm import tqdm

from vaekit.training import TrainCallback


class ProgressBar(TrainCallback):
    """Shows steps, loss, reconstruction and KL (nats/example), and validation ELBO per epoch."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar: tqdm | None = None

    def on_fit_start(self, state, total_steps: int) -> None:
        self.bar = tqdm(
            total=total_steps,
            initial=min(state.step, total_steps),
            unit="step",
            file=sys.stderr,
            disable=not self.enabled,
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
        if self.enabled and self.bar is not None and "val_elbo_nats" in metrics:
            self.bar.write(
                f"epoch {int(metrics['epoch'])}: "
                f"train loss {metrics.get('train_loss', float('nan')):.2f}, "
                f"val ELBO {metrics['val_elbo_nats']:.2f} nats "
                f"({metrics['val_bits_per_dim']:.4f} bits/dim), "
                f"{metrics['train_samples_per_second']:.0f} samples/s",
                file=sys.stderr,
            )

    def on_fit_end(self, state) -> None:
        if self.bar is not None:
            self.bar.close()
