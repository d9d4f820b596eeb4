"""Plots of training curves."""

from __future__ import annotations

import os

from vaekit.io import write_with_atomic


def plot_training_curves(rows: list[dict[str, float]], path: str | os.PathLike) -> None:
    """Plot per-epoch train loss and validation negative ELBO (nats) to a PNG."""
    import matplotlib  # imported here: it costs half a second at every CLI start

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in rows]
    figure, axis = plt.subplots(figsize=(6, 4), dpi=100)
    axis.plot(
        epochs, [row.get("train_loss", float("nan")) for row in rows], "o-", label="train loss"
    )
    if any("val_elbo_nats" in row for row in rows):
        val = [-row.get("val_elbo_nats", float("nan")) for row in rows]
        axis.plot(epochs, val, "s-", label="validation -ELBO")
    axis.set_xlabel("epoch")
    axis.set_ylabel("nats per example")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    write_with_atomic(path, lambda tmp: figure.savefig(tmp, format="png"))
    plt.close(figure)
