"""`vaekit traverse`: vary one latent coordinate at a time around an example."""

from __future__ import annotations

import argparse

import torch

from vaekit.cli.argtypes import (
    INDEX,
    LATENT_INDEX,
    MAX_LATENT_SCALE,
    MAX_STEPS,
    int_in,
    positive_float,
)
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
)
from vaekit.errors import ConfigError
from vaekit.sampling import traverse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=True)
    parser.add_argument("--index", type=INDEX, default=0, help="which example to start from")
    parser.add_argument(
        "--dims", type=LATENT_INDEX, nargs="+", default=None, help="latent dims (default: up to 10)"
    )
    parser.add_argument(
        "--range", type=positive_float(MAX_LATENT_SCALE), default=3.0, help="values go from -R to R"
    )
    parser.add_argument("--steps", type=int_in(2, MAX_STEPS), default=9)
    parser.add_argument("--out", default="traversal.png", help=".png (a row per dim) or .npy")
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".png", ".npy"))
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    split = pick_split(run_data(model), args.split)
    x = split.x
    if not 0 <= args.index < x.shape[0]:
        raise ConfigError(f"--index {args.index} is out of range 0..{x.shape[0] - 1}")
    dims = args.dims if args.dims is not None else list(range(min(10, model.latent_dim)))
    values = torch.linspace(-args.range, args.range, args.steps)
    label = None if split.y is None else split.y[args.index].to(device)
    grid = traverse(model, x[args.index].to(device), dims, values, label)
    save_tensor_output(grid, out, model_data_spec(model), num_columns=args.steps)
    print(f"wrote a traversal of {len(dims)} latent dims to {out}")
    return 0
