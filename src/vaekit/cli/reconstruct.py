"""`vaekit reconstruct`: originals next to their reconstructions."""

from __future__ import annotations

import argparse

import torch

from vaekit.cli.argtypes import positive_int
from vaekit.cli.outputs import save_tensor_output
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    check_output,
    model_data_spec,
    open_model,
    pick_split,
    run_data,
    take_examples,
)
from vaekit.sampling import reconstructions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=True)
    parser.add_argument("-n", "--num-examples", type=positive_int(), default=16)
    parser.add_argument(
        "--out", default="reconstructions.png", help=".png (pairs side by side) or .npy"
    )
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".png", ".npy"))
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    data = run_data(model, eval_limit=args.num_examples if args.split != "train" else None)
    split = pick_split(data, args.split)
    x = take_examples(split.x, args.num_examples, "-n").to(device)
    y = None if split.y is None else split.y[: x.shape[0]].to(device)
    recon = reconstructions(model, x, y)
    spec = model_data_spec(model)
    if out.suffix.lower() == ".png":
        # row pairs: each original followed by its reconstruction
        save_tensor_output(torch.stack([x, recon], dim=1).flatten(0, 1), out, spec, num_columns=8)
    else:
        save_tensor_output(recon, out, spec)
    print(f"wrote {x.shape[0]} reconstructions to {out}")
    return 0
