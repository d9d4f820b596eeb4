"""Plots (matplotlib, PNG): training curves, latent use, latent maps, confusion, histograms."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np

from vaekit.io import write_with_atomic

# (panel title, train column (None: reconstruction + KL), validation column)
CURVE_PANELS = (
    ("-ELBO (nats per example)", None, "val_elbo_nats"),
    ("reconstruction -log p(x|z) (nats)", "train_reconstruction_nats", "val_reconstruction_nats"),
    ("KL(q(z|x) || p(z)) (nats)", "train_kl_nats", "val_kl_nats"),
)


def pyplot():
    """matplotlib.pyplot on the Agg backend, imported on first use: it costs half a second at
    every CLI start, and pictures are written to files only, never shown in a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def integer_ticks():
    """A tick locator for axes of whole numbers (epochs, latent dimensions)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def save_figure(figure, path: str | os.PathLike, *, fit: bool = True) -> None:
    """Write a matplotlib figure as PNG atomically and free it. fit=True trims the margins
    to the drawn content (an extra layout pass); fit=False keeps the figure's own layout."""
    options = {"bbox_inches": "tight"} if fit else {}
    write_with_atomic(path, lambda tmp: figure.savefig(tmp, format="png", **options))
    pyplot().close(figure)


def _column(rows: list[dict[str, float]], key: str) -> list[float]:
    return [float(row.get(key, float("nan"))) for row in rows]


def _train_negative_elbo(rows: list[dict[str, float]]) -> list[float]:
    """Train -ELBO = reconstruction + KL (the loss without beta or warm-up): per epoch."""
    recon, kl = _column(rows, "train_reconstruction_nats"), _column(rows, "train_kl_nats")
    return [r + k for r, k in zip(recon, kl)]


def plot_training_curves(rows: list[dict[str, float]], path: str | os.PathLike) -> None:
    """Three panels per epoch, train (circles) and validation (squares), nats per example:
    -ELBO (train: reconstruction + KL; the train loss, with its beta and warm-up, dashed),
    reconstruction -log p(x|z), and KL. A column a run lacks is left out."""
    plt = pyplot()
    epochs = _column(rows, "epoch")
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8), dpi=100)
    # fixed margins: written at the end of every training run, so no layout pass
    figure.subplots_adjust(left=0.05, right=0.99, bottom=0.14, top=0.91, wspace=0.22)
    for axis, (title, train_key, val_key) in zip(axes, CURVE_PANELS):
        train = _train_negative_elbo(rows) if train_key is None else _column(rows, train_key)
        if any(math.isfinite(v) for v in train):
            axis.plot(epochs, train, "o-", label="train")
        if train_key is None and any("train_loss" in row for row in rows):
            axis.plot(epochs, _column(rows, "train_loss"), ":", color="grey", label="train loss")
        val = _column(rows, val_key)
        if val_key == "val_elbo_nats":
            val = [-v for v in val]
        if any(math.isfinite(v) for v in val):
            axis.plot(epochs, val, "s-", label="validation")
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(integer_ticks())
        axis.grid(alpha=0.3)
        if axis.lines:
            axis.legend(fontsize=8, loc="upper right")  # "best" would search: slow
    save_figure(figure, path, fit=False)


def plot_latent_activity(
    activity: np.ndarray,
    kl_per_dim: np.ndarray | None,
    threshold: float,
    path: str | os.PathLike,
) -> None:
    """Per latent dimension: KL to the prior (nats, when known) and activity Cov_x(E_q[z_d])
    on a log axis with the active-unit threshold; active dimensions in colour."""
    plt = pyplot()
    dims = np.arange(activity.shape[0])
    active = activity > threshold
    colours = np.where(active, "tab:blue", "lightgrey")
    panels = 2 if kl_per_dim is not None else 1
    width = min(14.0, max(6.0, 0.25 * dims.size + 2))
    figure, axes = plt.subplots(panels, 1, figsize=(width, 2.6 * panels), dpi=100, squeeze=False)
    axis = axes[0, 0]
    if kl_per_dim is not None:
        axis.bar(dims, kl_per_dim, color=colours)
        axis.set_ylabel("KL (nats)")
        axis.set_title(f"{int(active.sum())} of {dims.size} units active", fontsize=10)
        axis = axes[1, 0]
    axis.bar(dims, np.maximum(activity, 1e-8), color=colours)
    axis.axhline(threshold, color="tab:red", linestyle="--", linewidth=1, label=f"{threshold}")
    axis.set_yscale("log")
    axis.set_ylabel("Cov_x(E_q[z_d])")
    axis.set_xlabel("latent dimension d")
    axis.legend(fontsize=8, loc="upper right")
    if kl_per_dim is None:
        axis.set_title(f"{int(active.sum())} of {dims.size} units active", fontsize=10)
    for ax in axes[:, 0]:
        ax.set_xlim(-0.6, dims.size - 0.4)
        ax.xaxis.set_major_locator(integer_ticks())
    save_figure(figure, path)


def plot_latent_maps(
    maps: dict[str, np.ndarray], labels: np.ndarray | None, path: str | os.PathLike
) -> None:
    """One scatter panel per map (method name -> (N, 2) points), coloured by label."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(maps), figsize=(5.2 * len(maps), 4.6), dpi=100)
    axes = np.atleast_1d(axes)
    for axis, (name, points) in zip(axes, maps.items()):
        colour = labels if labels is not None else "tab:blue"
        scatter = axis.scatter(points[:, 0], points[:, 1], c=colour, s=6, cmap="tab10", alpha=0.8)
        axis.set_title(f"{name} of posterior means ({points.shape[0]} examples)", fontsize=10)
        axis.set_xticks([])
        axis.set_yticks([])
    if labels is not None:
        classes = np.unique(labels)
        handles = scatter.legend_elements(num=list(classes))[0]
        axes[-1].legend(handles, [str(c) for c in classes], title="label", fontsize=7,
                        loc="center left", bbox_to_anchor=(1.0, 0.5))  # fmt: skip
    save_figure(figure, path)


def plot_confusion_matrix(matrix: np.ndarray, path: str | os.PathLike) -> None:
    """matrix: (C, C) counts, rows the true class, columns the predicted one."""
    plt = pyplot()
    size = max(4.0, 0.45 * matrix.shape[0] + 2)
    figure, axis = plt.subplots(figsize=(size, size), dpi=100)
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        shade = "white" if count > matrix.max() / 2 else "black"
        axis.text(column, row, str(count), ha="center", va="center", fontsize=7, color=shade)
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    axis.set_title(f"accuracy {100 * accuracy:.2f}% ({matrix.sum()} examples)", fontsize=10)
    axis.set_xlabel("predicted class")
    axis.set_ylabel("true class")
    axis.set_xticks(range(matrix.shape[1]))
    axis.set_yticks(range(matrix.shape[0]))
    save_figure(figure, path)


def plot_histograms(
    values: dict[str, Sequence[float]], xlabel: str, path: str | os.PathLike
) -> None:
    """Overlaid histograms of per-example values (name -> values), on shared bins, each
    normalized to unit area so that splits of different sizes compare."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 3.8), dpi=100)
    finite = [np.asarray(v, dtype=np.float64) for v in values.values()]
    finite = [v[np.isfinite(v)] for v in finite]
    joined = np.concatenate(finite) if finite else np.zeros(0)
    bins = np.histogram_bin_edges(joined, bins=40) if joined.size else 10
    for name, column in zip(values, finite):
        axis.hist(column, bins=bins, alpha=0.55, density=True,
                  label=f"{name}: {column.size} examples, mean {column.mean():.2f}")  # fmt: skip
    axis.set_xlabel(xlabel)
    axis.set_ylabel("density")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    save_figure(figure, path)
