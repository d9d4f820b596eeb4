"""metrics.csv: one row per epoch, rewritten atomically."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from vaekit.io import write_text_atomic

METRICS_FILE = "metrics.csv"


def write_metrics_csv(run_dir: str | os.PathLike, rows: list[dict[str, float]]) -> None:
    """Write all rows (the union of their keys as columns, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(Path(run_dir) / METRICS_FILE, buffer.getvalue())
