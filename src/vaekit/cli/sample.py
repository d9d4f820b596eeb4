"""`vaekit sample`: draw new examples from the prior."""

from __future__ import annotations

import argparse

from vaekit.cli.argtypes import (
    INDEX,
    MAX_LATENT_SCALE,
    MAX_SAMPLES,
    positive_float,
    positive_int,
)
from vaekit.cli.outputs import check_output_kind, default_output, save_tensor_output
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    check_output,
    model_data_spec,
    open_model,
    seeded_generator,
)
from vaekit.sampling import generation_labels, prior_draws, prior_samples


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=False)
    parser.add_argument("-n", "--num-samples", type=positive_int(MAX_SAMPLES), default=64)
    parser.add_argument(
        "--temperature",
        type=positive_float(MAX_LATENT_SCALE),
        default=1.0,
        help="scale of the prior's std",
    )
    parser.add_argument(
        "--label",
        type=INDEX,
        default=None,
        help="models with classes (cvae, m2): draw every sample of this class (default: the "
        "classes in turn)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="images: .png grid or .npy array (default samples.png); tables: .csv or .npy "
        "rows in the data's own column units (default samples.csv)",
    )
    parser.add_argument(
        "--means",
        action="store_true",
        help="tables: write the decoder's means instead of draws x ~ p(x|z) (images always "
        "show the means)",
    )
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    out = None if args.out is None else check_output(args.out, (".png", ".npy", ".csv"))
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    spec = model_data_spec(model)
    out = out or default_output("samples", spec)
    check_output_kind(out, spec)
    labels = generation_labels(model, args.num_samples, args.label)
    draw = spec.kind == "table" and not args.means  # rows that spread like real rows
    samples = (prior_draws if draw else prior_samples)(
        model,
        args.num_samples,
        y=None if labels is None else labels.to(device),
        temperature=args.temperature,
        generator=seeded_generator(args.seed, device),
    )
    save_tensor_output(samples, out, spec)
    of_class = "" if args.label is None else f" of class {args.label}"
    print(f"wrote {args.num_samples} samples{of_class} to {out}")
    return 0
