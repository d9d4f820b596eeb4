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
    "val_accuracy",
    "epoch_seconds",
    "train_samples_per_second",
    "skipped_steps",
)


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
