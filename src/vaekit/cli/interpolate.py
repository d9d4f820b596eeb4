"""`vaekit interpolate`: decode a path in latent space between two examples."""

from __future__ import annotations

import argparse

from vaekit.cli.argtypes import INDEX, MAX_STEPS, int_in
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
from vaekit.sampling import interpolate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=True)
    parser.add_argument(
        "--pair", type=INDEX, nargs=2, default=[0, 1], metavar=("I", "J"), help="example indices"
    )
    parser.add_argument("--steps", type=int_in(2, MAX_STEPS), default=10)
    parser.add_argument("--method", default="linear", choices=("linear", "slerp"))
    parser.add_argument("--out", default="interpolation.png", help=".png or .npy")
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".png", ".npy"))
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    x = pick_split(run_data(model), args.split).x
    for index in args.pair:
        if not 0 <= index < x.shape[0]:
            raise ConfigError(
                f"--pair index {index} is out of range 0..{x.shape[0] - 1} "
                f"of the {args.split} split"
            )
    path = interpolate(
        model,
        x[args.pair[0]].to(device),
        x[args.pair[1]].to(device),
        args.steps,
        method=args.method,
    )
    save_tensor_output(path, out, model_data_spec(model), num_columns=args.steps)
    print(f"wrote a {args.steps}-step interpolation to {out}")
    return 0
