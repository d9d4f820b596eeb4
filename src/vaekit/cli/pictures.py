"""Pictures written at the end of training: the run's gallery and report.md."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from vaekit.cli.runtime import seeded_generator
from vaekit.data import DataSplits
from vaekit.models import LatentVariableModel
from vaekit.reporting import write_pictures, write_run_report
from vaekit.reporting.plots import pyplot


def import_plotting_beside() -> threading.Thread:
    """Import matplotlib on a thread while this one goes on; join it before plotting.

    The training curves need matplotlib.pyplot, whose import is ~0.5 s of pure Python at the
    very end of a run. Begun beside the data load, which spends its time reading files
    outside the GIL, it is over before the first step. An import that fails here fails again,
    with its real error, where the curves are drawn."""

    def load() -> None:
        with contextlib.suppress(Exception):
            pyplot()

    thread = threading.Thread(target=load, name="import matplotlib", daemon=True)
    thread.start()
    return thread


def write_run_pictures(
    model: LatentVariableModel,
    data: DataSplits,
    run_dir: Path,
    history: list[dict[str, float]],
    *,
    seed: int,
) -> list[str]:
    """Write what a person wants to look at after training; returns the file names. The
    slower pictures (t-SNE, confusion matrix, score histograms) are left to `vaekit report`."""
    device = next(model.parameters()).device
    generator = seeded_generator(seed, device)
    gallery = write_pictures(model, data, run_dir, history, generator=generator)
    write_run_report(
        run_dir,
        model_summary=model_summary(model),
        data_spec=data.spec.to_dict(),
        history=history,
        pictures=gallery.pictures,
        recipe=recipe_summary(model),
    )
    return [*gallery.pictures.values(), "report.md"]


# the training settings report.md states, in this order, when the run recorded them
RECIPE_FIELDS = ("objective", "epochs", "time_budget_seconds", "batch_size", "lr",
                 "lr_schedule", "beta", "precision", "seed")  # fmt: skip


def recipe_summary(model: LatentVariableModel) -> dict:
    """The recorded training settings among RECIPE_FIELDS (precision as fit() resolved it)."""
    train = model.metadata.get("train") or {}
    return {name: train[name] for name in RECIPE_FIELDS if train.get(name) is not None}


def model_summary(model: LatentVariableModel) -> dict:
    """Class name, config fields and parameter count."""
    summary = {"model": type(model).__name__, **model.config.to_dict()}
    summary["parameters"] = sum(p.numel() for p in model.parameters())
    return summary
