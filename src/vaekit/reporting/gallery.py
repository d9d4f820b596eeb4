"""Every picture of a run: samples, reconstructions, interpolations, traversals, latent use,
latent maps, confusion matrix and score histograms, written as PNGs into the run directory.

`write_pictures` returns captions -> file names in the order a reader should see them; the
end of training and `vaekit report` both call it, and the report also asks for the slower
plots (see write_pictures).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaekit.data import DataSplits, Split
from vaekit.evaluation import elbo_scores
from vaekit.features import ACTIVE_UNIT_THRESHOLD, LatentActivity, latent_activity
from vaekit.models import LatentVariableModel
from vaekit.reporting.images import save_image_grid
from vaekit.reporting.plots import (
    plot_confusion_matrix,
    plot_histograms,
    plot_latent_activity,
    plot_latent_maps,
    plot_training_curves,
)
from vaekit.sampling import interpolate, known_labels, prior_samples, traverse

logger = logging.getLogger(__name__)

SAMPLE_TEMPERATURES = (1.0, 0.7)
MAP_POINTS = 1000  # latent maps and activity use at most this many test examples
TRAVERSAL_DIMS = 8  # the most active dimensions shown in traversals and explorer sliders
INTERPOLATION_PAIRS = 4
STEPS = 10


@dataclass(frozen=True)
class Gallery:
    """What write_pictures produced: captions -> file names (in run_dir), and the latent
    activity it measured (None for a split with fewer than 2 examples)."""

    pictures: dict[str, str]
    activity: LatentActivity | None


def picture_split(data: DataSplits) -> tuple[str, Split]:
    """The split pictures are drawn from: test, or val (then train) when it is too small."""
    for name in ("test", "val", "train"):
        split = getattr(data, name)
        if len(split) >= 2:
            return name, split
    return "train", data.train


def write_pictures(
    model: LatentVariableModel,
    data: DataSplits,
    run_dir: str | os.PathLike,
    history: list[dict[str, float]],
    *,
    generator: torch.Generator,
    full: bool = False,
) -> Gallery:
    """Write the run's pictures into run_dir.

    Training's end writes the cheap ones: curves and image grids (samples at two
    temperatures, reconstructions, interpolations, traversals), about 0.1 s beyond what it
    wrote before. full=True adds the plots that cost a second or more (latent activity per
    dimension; PCA and t-SNE maps; confusion matrix; score histograms): `vaekit report`."""
    run_dir = Path(run_dir)
    model.eval()
    written: dict[str, str] = {}
    if history:
        plot_training_curves(history, run_dir / "training_curves.png")
        written["Training curves (nats per example; train and validation)"] = "training_curves.png"
    name, split = picture_split(data)
    device = next(model.parameters()).device
    x = split.x[:MAP_POINTS].to(device)
    y = None if split.y is None else split.y[:MAP_POINTS].to(device)
    labels = _labels_or_none(model, x, y)
    if data.spec.kind == "image":
        written.update(_image_pictures(model, data, run_dir, x, labels, generator))
    activity = latent_activity(model, x, labels) if x.shape[0] >= 2 else None
    if activity is not None and data.spec.kind == "image":
        written.update(_traversals(model, run_dir, activity, x, labels))
    if full and activity is not None:
        written.update(_latent_plots(run_dir, activity, data, name))
    if full:
        written.update(_score_pictures(model, data, run_dir, generator))
    return Gallery(written, activity)


def _labels_or_none(model: LatentVariableModel, x: torch.Tensor, y: torch.Tensor | None):
    """Labels as the model needs them (a classifier's guess where unknown), or None."""
    if not model.uses_labels:
        return None
    return known_labels(model, x, y)


def _image_pictures(
    model: LatentVariableModel,
    data: DataSplits,
    run_dir: Path,
    x: torch.Tensor,
    labels: torch.Tensor | None,
    generator: torch.Generator,
) -> dict[str, str]:
    """Samples at two temperatures, reconstructions and interpolations."""
    written: dict[str, str] = {}
    if model.has_likelihood_bound:
        for temperature in SAMPLE_TEMPERATURES:
            file = "samples.png" if temperature == 1.0 else f"samples_t{temperature:g}.png"
            caption = _write_samples(model, run_dir / file, temperature, generator)
            written[caption] = file
    written.update(_write_reconstructions(model, data, run_dir))
    pairs = min(INTERPOLATION_PAIRS, x.shape[0] // 2)
    if pairs >= 1:
        rows = []
        for pair in range(pairs):
            ends = slice(2 * pair, 2 * pair + 2)
            ends_y = None if labels is None else labels[ends]
            for method in ("linear", "slerp"):
                rows.append(interpolate(model, *x[ends], STEPS, method=method, y=ends_y))
        save_image_grid(torch.cat(rows).cpu(), run_dir / "interpolations.png", num_columns=STEPS)
        written[
            f"Interpolations between {pairs} pairs of test images: linear (odd rows) and "
            "spherical (even rows) paths between their posterior means"
        ] = "interpolations.png"
    return written


def _write_samples(
    model: LatentVariableModel, path: Path, temperature: float, generator: torch.Generator
) -> str:
    """64 prior samples; a model that reads labels gets one class per column (its first 8
    classes when it has more). Returns the picture's caption."""
    labels, columns = None, 8
    if model.uses_labels and model.num_classes is not None:
        columns = min(model.num_classes, 8)
        labels = (torch.arange(64) % columns).to(generator.device)
    samples = prior_samples(model, 64, y=labels, temperature=temperature, generator=generator)
    save_image_grid(samples.cpu(), path, num_columns=columns)
    caption = "Samples from the prior"
    if temperature != 1.0:
        caption += f" at temperature {temperature:g} (prior std x {temperature:g})"
    if labels is not None:
        caption += f", classes 0..{columns - 1} one per column"
    return caption


def _write_reconstructions(
    model: LatentVariableModel, data: DataSplits, run_dir: Path
) -> dict[str, str]:
    """The first 32 validation images (test when there are none), each beside its
    reconstruction."""
    split = data.val if len(data.val) > 0 else data.test
    if len(split) == 0:
        return {}
    device = next(model.parameters()).device
    x = split.x[:32].to(device)
    y = None if split.y is None else split.y[:32].to(device)
    recon = model.reconstruct(x, _labels_or_none(model, x, y))
    pairs = torch.stack([x, recon], dim=1).flatten(0, 1)
    save_image_grid(pairs.cpu(), run_dir / "reconstructions.png", num_columns=16)
    return {
        "Validation images (odd columns) and reconstructions (even columns)": (
            "reconstructions.png"
        )
    }


def _traversals(
    model: LatentVariableModel,
    run_dir: Path,
    activity: LatentActivity,
    x: torch.Tensor,
    labels: torch.Tensor | None,
) -> dict[str, str]:
    """Traversals of the most active dimensions around the first example's posterior mean."""
    dims = activity.most_active(TRAVERSAL_DIMS)
    values = torch.linspace(-3.0, 3.0, 9)
    grid = traverse(model, x[0], dims, values, None if labels is None else labels[0])
    save_image_grid(grid.cpu(), run_dir / "traversals.png", num_columns=values.numel())
    caption = (
        f"Traversals of the {len(dims)} most active latent dimensions (rows: {dims}), each set "
        "from -3 to 3 around the first test image's posterior mean"
    )
    return {caption: "traversals.png"}


def _latent_plots(
    run_dir: Path, activity: LatentActivity, data: DataSplits, split_name: str
) -> dict[str, str]:
    """Activity and KL per dimension, and maps (PCA, t-SNE) of the posterior means."""
    kl = None if activity.kl_per_dim is None else activity.kl_per_dim.numpy()
    plot_latent_activity(
        activity.activity.numpy(), kl, ACTIVE_UNIT_THRESHOLD, run_dir / "latent_activity.png"
    )
    count = activity.means.shape[0]
    written = {
        f"Latent use on {count} {split_name} examples: KL per dimension and activity "
        f"Cov_x(E_q[z_d]); active units (> {ACTIVE_UNIT_THRESHOLD}, Burda et al. 2016) in "
        "blue": "latent_activity.png"
    }
    if activity.means.shape[1] >= 2:
        maps = latent_maps(activity.means.numpy(), tsne=True)
        plot_latent_maps(maps, data_labels(data, split_name, count), run_dir / "latent_map.png")
        names = " and ".join(maps)
        written[f"{names} of {split_name} posterior means, coloured by label"] = "latent_map.png"
    return written


def data_labels(data: DataSplits, split_name: str, count: int) -> np.ndarray | None:
    """The split's first `count` labels, or None when it has none (or none known)."""
    labels = getattr(data, split_name).y
    if labels is None:
        return None
    labels = labels[:count].numpy()
    return None if (labels < 0).all() else labels


def latent_maps(means: np.ndarray, *, tsne: bool) -> dict[str, np.ndarray]:
    """2-D maps of posterior means (N, D): PCA, and with tsne=True also t-SNE (seeded)."""
    from sklearn.decomposition import PCA

    maps = {"PCA": PCA(n_components=2, random_state=0).fit_transform(means)}
    if tsne and means.shape[0] > 5:
        from sklearn.manifold import TSNE
        from threadpoolctl import threadpool_limits

        perplexity = min(30.0, (means.shape[0] - 1) / 3)
        tsne_map = TSNE(perplexity=perplexity, init="pca", max_iter=500, random_state=0)
        # one OpenMP thread: on a busy 2-core machine sklearn's threads spin against each
        # other, and 359 points took 43 s instead of 0.8 s
        with threadpool_limits(limits=1, user_api="openmp"):
            maps["t-SNE"] = tsne_map.fit_transform(means)
    return maps


def _score_pictures(
    model: LatentVariableModel, data: DataSplits, run_dir: Path, generator: torch.Generator
) -> dict[str, str]:
    """Confusion matrix (models that classify) and per-example -ELBO histograms."""
    written: dict[str, str] = {}
    device = next(model.parameters()).device
    test = data.test
    if model.classifies and test.y is not None and bool((test.y >= 0).any()):
        from sklearn.metrics import confusion_matrix

        known = test.y >= 0
        with torch.inference_mode():
            predicted = model.classify(test.x[known].to(device)).argmax(dim=-1).cpu()
        classes = list(range(model.num_classes or int(test.y.max()) + 1))
        matrix = confusion_matrix(test.y[known].numpy(), predicted.numpy(), labels=classes)
        plot_confusion_matrix(matrix, run_dir / "confusion_matrix.png")
        written["Confusion matrix of the classifier q(y|x) on the test split"] = (
            "confusion_matrix.png"
        )
    if model.has_likelihood_bound:
        scores = {}
        for name in ("val", "test"):
            split = getattr(data, name)
            if len(split) > 0:
                scores[name] = _negative_elbo(model, split, generator, device)
        if scores:
            plot_histograms(scores, "-ELBO (nats per example)", run_dir / "score_histogram.png")
            written["Per-example -ELBO on the validation and test splits"] = "score_histogram.png"
    return written


def _negative_elbo(model, split: Split, generator, device) -> np.ndarray:
    """-ELBO (nats) of up to 5000 examples, labels given as training gives them."""
    x = split.x[:5000].to(device)
    y = None if split.y is None or not model.is_conditional else split.y[:5000].to(device)
    with torch.inference_mode():
        log_px, kl = elbo_scores(model, x, y=y, generator=generator)
    return (kl - log_px).double().cpu().numpy()
