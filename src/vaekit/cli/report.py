"""`vaekit report`: one self-contained HTML page for a run, with every picture embedded."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vaekit.cli.pictures import model_summary
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    check_output,
    model_data_spec,
    open_model,
    run_data,
    seeded_generator,
)
from vaekit.errors import DataError
from vaekit.reporting import write_pictures
from vaekit.reporting.html import write_html_report
from vaekit.training.metrics_log import read_metrics_csv

EVAL_FILE = "eval.json"  # where `vaekit eval --save` writes, and where the report looks


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=False)
    parser.add_argument(
        "-o", "--out", default=None, help="the .html file to write (default: RUN/report.html)"
    )
    parser.add_argument(
        "--eval",
        dest="eval_file",
        default=None,
        help=f"a saved `vaekit eval --json` object (default: RUN/{EVAL_FILE} when present)",
    )
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    out = check_output(args.out or run_dir / "report.html", (".html", ".htm"))
    evaluations = read_evaluations(Path(args.eval_file) if args.eval_file else run_dir / EVAL_FILE,
                                   required=args.eval_file is not None)  # fmt: skip
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    data = run_data(model)
    history = read_metrics_csv(run_dir)
    gallery = write_pictures(
        model, data, run_dir, history, generator=seeded_generator(args.seed, device), full=True
    )
    notes = []
    if gallery.activity is not None:
        notes.append(
            f"{gallery.activity.num_active} of {model.latent_dim} latent dimensions are active "
            "(Cov_x(E_q[z_d]) > 0.01, Burda et al. 2016)."
        )
    sections = {
        "Model": model_summary(model),
        "Training configuration": model.metadata.get("train", {}),
        "Data": {**model_data_spec(model).to_dict(), **model.metadata.get("data_config", {})},
    }
    write_html_report(
        out,
        title=f"vaekit run {run_dir.resolve().name}",
        sections=sections,
        history=history,
        evaluations=evaluations,
        pictures={caption: run_dir / file for caption, file in gallery.pictures.items()},
        notes=notes,
    )
    print(f"wrote {out} ({len(gallery.pictures)} pictures, {len(evaluations)} evaluations)")
    return 0


def read_evaluations(path: Path, *, required: bool) -> list[dict]:
    """The `vaekit eval --json` object(s) in path: one object, or a list of them (JSON lines
    also work, as several `--json` runs appended to one file). [] when the file is absent
    and not required."""
    if not path.is_file():
        if required:
            raise DataError(f"no evaluation file at {path}")
        return []
    text = path.read_text(encoding="utf-8")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        try:
            payload = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as err:
            raise DataError(f"{path} is not a `vaekit eval --json` output: {err}") from None
    items = payload if isinstance(payload, list) else [payload]
    if not items or not all(isinstance(item, dict) and "split" in item for item in items):
        raise DataError(f"{path} is not a `vaekit eval --json` output (no 'split' field)")
    return items
