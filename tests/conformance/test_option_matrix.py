"""Every combination of model x objective x likelihood x prior x arch either trains or is
refused in one line.

The combinations come from the registries, so a new model, objective, likelihood, prior or
architecture joins the matrix without an edit here. Each runs the code `vaekit train` runs
(`vaekit.cli.main.main`, in-process: a subprocess per combination would spend ~2 s each on
imports) for one epoch of a few tiny batches.
"""

import csv
import dataclasses
import itertools
import math
import re

import numpy as np
import pytest

from vaekit.cli.main import EXIT_USER_ERROR, main
from vaekit.likelihoods import LIKELIHOODS
from vaekit.models import MODELS
from vaekit.models.config import ARCHITECTURES
from vaekit.objectives import OBJECTIVES
from vaekit.priors import PRIORS
from vaekit.reporting import gallery

# None: no --prior flag at all (the model's own default, and the only way to train an AE)
PRIOR_CHOICES = (None, *PRIORS)
COMBINATIONS = list(itertools.product(MODELS, OBJECTIVES, LIKELIHOODS, PRIOR_CHOICES))
# the smallest sizes of every model's networks, each passed to the models whose config has it
TINY_SIZES = {
    "latent_dim": "2",
    "hidden_dims": "8",
    "conv_channels": "4",
    "state_dim": "8",
    "num_latent_layers": "2",
}


@pytest.fixture(autouse=True)
def pictures_checked_not_drawn(monkeypatch):
    """matplotlib's training-curve figure costs ~0.4 s a run, two thirds of this matrix's
    time, and encoding the PNG grids another ~0.1 s; nothing in the drawing depends on the
    options under test (tests/cli and tests/reporting draw them for real). Here the history
    the curves would plot, and the samples, reconstructions, interpolations and traversals
    every model computes for its grids, are checked instead."""

    def check_history(history, path):
        assert history and all(math.isfinite(row["train_loss"]) for row in history)

    def check_images(images, path, **options):
        assert images.dim() == 4 and bool(images.isfinite().all()), path

    monkeypatch.setattr(gallery, "plot_training_curves", check_history)
    monkeypatch.setattr(gallery, "save_image_grid", check_images)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """Binary 8x8 images (every likelihood applies to them) and a standardizable table, each
    with labels of 3 classes, so that models that read labels train like the others."""
    folder = tmp_path_factory.mktemp("matrix_data")
    rng = np.random.default_rng(0)
    images = (rng.random((40, 1, 8, 8)) < 0.4).astype(np.float32)
    table = rng.standard_normal((40, 5)).astype(np.float32)
    labels = np.arange(40) % 3
    np.savez(folder / "images.npz", x=images, y=labels)
    np.savez(folder / "table.npz", x=table, y=labels)
    return {"images": folder / "images.npz", "table": folder / "table.npz"}


def train_argv(data, out, model, objective, likelihood, prior, arch):
    argv = ["train", "--data", str(data), "--out", str(out), "--model", model]
    argv += ["--objective", objective, "--likelihood", likelihood, "--arch", arch]
    argv += ["--epochs", "1", "--train-limit", "16", "--eval-limit", "8", "--val-size", "8"]
    argv += ["--batch-size", "8", "--quiet"]
    if prior is not None:
        argv += ["--prior", prior]
    fields = {field.name for field in dataclasses.fields(MODELS[model].config_class)}
    for name, value in TINY_SIZES.items():
        if name in fields:
            argv += [f"--{name.replace('_', '-')}", value]
    return argv


def check_outcome(capsys, argv, out, named_values):
    """The run either trained (exit 0, a finite training loss in metrics.csv) or was refused
    with exit 2 and exactly one `vaekit: error:` line naming one of the clashing values."""
    code = main(argv)
    stderr = capsys.readouterr().err
    if code == 0:
        with open(out / "metrics.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and math.isfinite(float(rows[-1]["train_loss"])), rows
        return "trained"
    assert code == EXIT_USER_ERROR, (argv, code, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("vaekit: error: "), stderr
    assert any(re.search(rf"\b{re.escape(value)}\b", lines[0]) for value in named_values), (
        f"{lines[0]!r} names none of {named_values}"
    )
    return "refused"


@pytest.mark.parametrize("model,objective,likelihood,prior", COMBINATIONS)
def test_image_combinations_train_or_are_refused(
    capsys, tmp_path, data_files, model, objective, likelihood, prior
):
    outcomes = []
    for arch in ARCHITECTURES:
        out = tmp_path / arch
        argv = train_argv(data_files["images"], out, model, objective, likelihood, prior, arch)
        values = [v for v in (model, objective, likelihood, prior, arch) if v is not None]
        outcomes.append(check_outcome(capsys, argv, out, [*values, "prior"]))
    # the one case a user can always train: a VAE on the ELBO with default options
    if (model, objective, prior) == ("vae", "elbo", None) and likelihood == "bernoulli":
        assert outcomes == ["trained"] * len(ARCHITECTURES)


@pytest.mark.parametrize("model,objective,likelihood,prior", COMBINATIONS)
def test_table_combinations_train_or_are_refused(
    capsys, tmp_path, data_files, model, objective, likelihood, prior
):
    for arch in ARCHITECTURES:
        out = tmp_path / arch
        argv = train_argv(data_files["table"], out, model, objective, likelihood, prior, arch)
        values = [v for v in (model, objective, likelihood, prior, arch) if v is not None]
        outcome = check_outcome(capsys, argv, out, [*values, "prior", "tables"])
        if arch != "mlp":  # conv stages need (C, H, W) inputs
            assert outcome == "refused"


def test_an_autoencoder_on_the_importance_weighted_bound_is_refused_in_one_line(
    capsys, tmp_path, data_files
):
    out = tmp_path / "run"
    argv = train_argv(data_files["images"], out, "ae", "iwae", "bernoulli", None, "mlp")
    assert main(argv) == EXIT_USER_ERROR
    assert capsys.readouterr().err == (
        "vaekit: error: objective 'iwae' does not apply to model 'ae', which trains on elbo only\n"
    )
    assert not (out / "checkpoints").exists()  # refused before the first step
