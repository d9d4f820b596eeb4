"""metrics.csv: one row per epoch, rewritten atomically."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from vaekit.io import write_text_atomic

METRICS_FILE = "metrics.csv"


COLUMN_ORDER = (
    "epoch",
    "step",
    "train_loss",
    "train_reconstruction_nats",
    "train_kl_nats",
    "val_elbo_nats",
    "val_bits_per_dim",
    "val_reconstruction_nats",
    "val_kl_nats",
    "val_accuracy",
    "epoch_seconds",
    "train_samples_per_second",
    "skipped_steps",
)


def read_metrics_csv(run_dir: str | os.PathLike) -> list[dict[str, float]]:
    """The rows of run_dir/metrics.csv as floats (empty cells left out); [] without the file."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {key: float(value) for key, value in row.items() if key and value not in ("", None)}
            for row in csv.DictReader(handle)
        ]


def write_metrics_csv(run_dir: str | os.PathLike, rows: list[dict[str, float]]) -> None:
    """Write all rows: the known columns in a fixed order, then any others by first sight."""
    present = {key for row in rows for key in row}
    columns = [key for key in COLUMN_ORDER if key in present]
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(Path(run_dir) / METRICS_FILE, buffer.getvalue())
