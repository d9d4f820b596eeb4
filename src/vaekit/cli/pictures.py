"""Pictures written at the end of training: samples, reconstructions, curves, report.md."""

from __future__ import annotations

from pathlib import Path

import torch

from vaekit.cli.runtime import seeded_generator
from vaekit.data import DataSplits
from vaekit.models import LatentVariableModel
from vaekit.reporting import plot_training_curves, save_image_grid, write_run_report
from vaekit.sampling import prior_samples, reconstructions


def write_run_pictures(
    model: LatentVariableModel,
    data: DataSplits,
    run_dir: Path,
    history: list[dict[str, float]],
    *,
    seed: int,
) -> list[str]:
    """Write what a person wants to look at after training; returns the file names."""
    written: dict[str, str] = {}
    device = next(model.parameters()).device
    if history:
        plot_training_curves(history, run_dir / "training_curves.png")
        written["Training curves"] = "training_curves.png"
    if data.spec.kind == "image":
        if model.has_likelihood_bound:
            written[_write_samples(model, run_dir, seeded_generator(seed, device))] = "samples.png"
        x = data.val.x[:32].to(device)
        y = None if data.val.y is None else data.val.y[:32].to(device)
        pairs = torch.stack([x, reconstructions(model, x, y)], dim=1).flatten(0, 1)
        save_image_grid(pairs.cpu(), run_dir / "reconstructions.png", num_columns=16)
        written["Validation images (odd columns) and reconstructions (even columns)"] = (
            "reconstructions.png"
        )
    summary = {"model": type(model).__name__, **model.config.to_dict()}
    summary["parameters"] = sum(p.numel() for p in model.parameters())
    write_run_report(
        run_dir,
        model_summary=summary,
        data_spec=data.spec.to_dict(),
        history=history,
        pictures=written,
    )
    return [*written.values(), "report.md"]


def _write_samples(model: LatentVariableModel, run_dir: Path, generator: torch.Generator) -> str:
    """samples.png: 64 prior samples; a model that reads labels gets one class per column
    (its first 8 classes when it has more). Returns the picture's caption."""
    labels, columns = None, 8
    if model.uses_labels and model.num_classes is not None:
        columns = min(model.num_classes, 8)
        labels = (torch.arange(64) % columns).to(generator.device)
    samples = prior_samples(model, 64, y=labels, generator=generator)
    save_image_grid(samples.cpu(), run_dir / "samples.png", num_columns=columns)
    if labels is None:
        return "Samples from the prior"
    return f"Samples from the prior, classes 0..{columns - 1} one per column"
