"""report.md: a run's figures in words and pictures, with units stated."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vaekit.io import write_text_atomic


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_run_report(
    run_dir: str | os.PathLike,
    *,
    model_summary: dict[str, Any],
    data_spec: dict[str, Any],
    history: list[dict[str, float]],
    evaluation: dict[str, Any] | None = None,
    pictures: dict[str, str] | None = None,
    recipe: dict[str, Any] | None = None,
) -> Path:
    """Write run_dir/report.md; `pictures` maps a caption to a file name inside run_dir,
    `recipe` holds the training settings worth stating (objective, batch, precision...)."""
    lines = ["# vaekit run report", "", "## Model", ""]
    lines += [f"- {key}: `{_fmt(value)}`" for key, value in model_summary.items()]
    lines += ["", "## Data", ""]
    lines += [f"- source: `{data_spec.get('source')}`, shape {data_spec.get('shape')}"]
    lines += [f"- scaling: {data_spec.get('scaling')}"]
    if recipe:
        lines += ["", "## Recipe", ""]
        lines += [f"- {key}: `{_fmt(value)}`" for key, value in recipe.items()]
    if history:
        columns = [
            c
            for c in ("epoch", "train_loss", "val_elbo_nats", "val_bits_per_dim", "val_accuracy")
            if c in history[0]
        ]
        lines += ["", "## Training (per epoch; nats per example)", ""]
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(_fmt(row.get(c)) for c in columns) + " |" for row in history]
    if evaluation:
        lines += ["", f"## Evaluation ({evaluation.get('split')} split)", ""]
        lines += [f"- {key}: {_fmt(value)}" for key, value in evaluation.items()]
    for caption, name in (pictures or {}).items():
        lines += ["", f"## {caption}", "", f"![{caption}]({name})"]
    path = Path(run_dir) / "report.md"
    write_text_atomic(path, "\n".join(lines) + "\n")
    return path
