"""`vaekit interpolate`: decode a path in latent space between two examples, or, for a model
with classes, move the class condition from one label to another at fixed z."""

from __future__ import annotations

import argparse

from vaekit.cli.argtypes import INDEX, MAX_SAMPLES, MAX_STEPS, int_in
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
    seeded_generator,
)
from vaekit.errors import ConfigError
from vaekit.sampling import class_interpolation, interpolate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=True)
    parser.add_argument(
        "--pair",
        type=INDEX,
        nargs=2,
        default=None,
        metavar=("I", "J"),
        help="example indices (default 0 1)",
    )
    parser.add_argument(
        "--labels",
        type=INDEX,
        nargs=2,
        default=None,
        metavar=("A", "B"),
        help="models with classes (cvae, m2): class interpolation from label A to label B, "
        "z ~ p(z) fixed along each row",
    )
    parser.add_argument(
        "--rows",
        type=int_in(1, MAX_SAMPLES),
        default=8,
        help="--labels: rows, one z each (8)",
    )
    parser.add_argument("--steps", type=int_in(2, MAX_STEPS), default=10)
    parser.add_argument("--method", default="linear", choices=("linear", "slerp"))
    parser.add_argument("--out", default="interpolation.png", help=".png or .npy")
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".png", ".npy"))
    if args.labels is not None and args.pair is not None:
        raise ConfigError("give --pair (between two examples) or --labels (between two classes)")
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    if args.labels is not None:
        return _between_classes(args, model, out, device)
    pair = args.pair or [0, 1]
    split = pick_split(run_data(model), args.split)
    x = split.x
    for index in pair:
        if not 0 <= index < x.shape[0]:
            raise ConfigError(
                f"--pair index {index} is out of range 0..{x.shape[0] - 1} "
                f"of the {args.split} split"
            )
    path = interpolate(
        model,
        x[pair[0]].to(device),
        x[pair[1]].to(device),
        args.steps,
        method=args.method,
        y=None if split.y is None else split.y[pair].to(device),
    )
    save_tensor_output(path, out, model_data_spec(model), num_columns=args.steps)
    print(f"wrote a {args.steps}-step interpolation to {out}")
    return 0


def _between_classes(args: argparse.Namespace, model, out, device) -> int:
    """--labels A B: rows of fixed z, the condition moving from class A to class B."""
    start, end = args.labels
    grid = class_interpolation(
        model, start, end, args.steps, args.rows, generator=seeded_generator(args.seed, device)
    )
    save_tensor_output(grid, out, model_data_spec(model), num_columns=args.steps)
    print(f"wrote a {args.steps}-step interpolation from class {start} to {end} "
          f"({args.rows} rows) to {out}")  # fmt: skip
    return 0
