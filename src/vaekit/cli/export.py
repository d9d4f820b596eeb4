"""`vaekit export`: a run's encoder and decoder as ONNX graphs, plus export.json."""

from __future__ import annotations

import argparse

import torch

from vaekit.cli.runtime import add_run_arguments, open_model
from vaekit.export import (
    FORMATS,
    check_export_folder,
    check_exportable,
    check_format,
    export_model,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=False)
    parser.add_argument("--format", default="onnx", help=f"{' | '.join(FORMATS)} (default: onnx)")
    parser.add_argument(
        "--out",
        default="exported",
        help="folder for encoder.onnx, decoder.onnx and export.json (default: exported)",
    )


def run(args: argparse.Namespace) -> int:
    check_format(args.format)
    out = check_export_folder(args.out)
    model = open_model(args.run_dir, torch.device("cpu"))
    check_exportable(model, args.format)
    description = export_model(model, out, args.format)
    outputs = ", ".join(description["decoder"]["outputs"])
    print(
        f"wrote encoder.onnx (x -> {', '.join(description['encoder']['outputs'])}), "
        f"decoder.onnx (z -> {outputs}) and export.json to {out}"
    )
    return 0
