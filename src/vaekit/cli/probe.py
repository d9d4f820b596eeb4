"""`vaekit probe`: linear-probe accuracy of the latent means against raw pixels and PCA;
for a binarized run, also the grey pixels and the latent means of grey inputs."""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch
from sklearn.decomposition import PCA
from tqdm import tqdm

from vaekit.cli.argtypes import int_in, positive_int
from vaekit.cli.progress import show_bar
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    grey_run_data,
    open_model,
    pick_split,
    run_data,
)
from vaekit.data import DataSplits, as_tensor
from vaekit.errors import ConfigError, DataError
from vaekit.features import linear_probe, posterior_means
from vaekit.features.probe import num_fits
from vaekit.models import LatentVariableModel


def labels_per_class(text: str) -> int | None:
    """k >= 1, or "all" (None)."""
    if text == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or all, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1 or all, got {value}")
    return value


def _grey_feature_sets(
    model: LatentVariableModel, data: DataSplits, batch_size: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For a binarized run, the same examples before binarization: the grey pixels, and the
    latent means of grey inputs (a Bernoulli encoder reads the probabilities it was trained
    to sample from; no sampling noise in the features)."""
    grey = grey_run_data(model)
    if not (torch.equal(grey.train.y, data.train.y) and torch.equal(grey.test.y, data.test.y)):
        raise DataError("the grey-level reload of the data does not match the run's split")
    name = f"grey pixels ({grey.train.x[0].numel()})"
    return {
        f"latent means, grey inputs ({model.latent_dim})": (
            posterior_means(model, grey.train.x, batch_size=batch_size).numpy(),
            posterior_means(model, grey.test.x, batch_size=batch_size).numpy(),
        ),
        name: (
            as_tensor(grey.train.x).flatten(1).numpy(),
            as_tensor(grey.test.x).flatten(1).numpy(),
        ),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=False)
    parser.add_argument(
        "--labels-per-class",
        type=labels_per_class,
        nargs="+",
        default=[10, 100, 1000, None],
        metavar="K",
        help="training labels per class, integers or all (default: 10 100 1000 all)",
    )
    parser.add_argument(
        "--draws", type=int_in(1, 1000), default=5, help="draws of k labels per class (5)"
    )
    parser.add_argument("--batch-size", type=positive_int(), default=1000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    if model.is_conditional:
        raise ConfigError(
            f"{type(model).__name__} is conditional: its posterior q(z|x, y) needs the label, "
            "so a probe on its latents would read the answer"
        )
    data = run_data(model)
    train, test = pick_split(data, "train"), pick_split(data, "test")
    if train.y is None or test.y is None:
        raise DataError(f"{data.spec.source} has no labels: a linear probe needs them")
    pixels_train = as_tensor(train.x).flatten(1).numpy()
    pixels_test = as_tensor(test.x).flatten(1).numpy()
    raw = "raw pixels" if data.spec.kind == "image" else "raw inputs"
    pca = PCA(n_components=min(model.latent_dim, pixels_train.shape[1]), random_state=args.seed)
    feature_sets = {
        f"latent means ({model.latent_dim})": (
            posterior_means(model, train.x, batch_size=args.batch_size).numpy(),
            posterior_means(model, test.x, batch_size=args.batch_size).numpy(),
        ),
        f"{raw} ({pixels_train.shape[1]})": (pixels_train, pixels_test),
        f"PCA ({pca.n_components})": (pca.fit_transform(pixels_train), pca.transform(pixels_test)),
    }
    if data.spec.binarize != "none":
        feature_sets.update(_grey_feature_sets(model, data, args.batch_size))
    budgets = list(dict.fromkeys(args.labels_per_class))
    total = num_fits(len(feature_sets), budgets, args.draws)
    with tqdm(total=total, unit="fit", file=sys.stderr, disable=not show_bar(args.quiet)) as bar:
        rows = linear_probe(
            feature_sets,
            train.y.numpy(),
            test.y.numpy(),
            budgets,
            num_draws=args.draws,
            seed=args.seed,
            progress=lambda: bar.update(1),
        )
    if args.json:
        print(json.dumps({"rows": [row.to_dict() for row in rows]}))
        return 0
    print(f"linear probe (standardized logistic regression), test split of {len(test)} examples")
    width = max(len(row.features) for row in rows)
    print(f"{'features':<{width}} {'labels/class':>12} {'accuracy %':>11} {'std':>6}")
    for row in rows:
        k = "all" if row.labels_per_class is None else str(row.labels_per_class)
        print(
            f"{row.features:<{width}} {k:>12} {100 * row.accuracy_mean:>11.2f} "
            f"{100 * row.accuracy_std:>6.2f}"
        )
    return 0
