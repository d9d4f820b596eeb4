"""`vaekit encode`: posterior means and log-variances of a split, with labels when known."""

from __future__ import annotations

import argparse

import numpy as np
import torch

from vaekit.cli.argtypes import positive_int
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    check_output,
    open_model,
    pick_split,
    run_data,
)
from vaekit.io import write_with_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=True)
    parser.add_argument(
        "--limit", type=positive_int(), default=None, help="encode only the first N examples"
    )
    parser.add_argument("--batch-size", type=positive_int(), default=1000)
    parser.add_argument(
        "--out", default="latents.npz", help=".npz with mean, log_var (VAE) and labels"
    )
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".npz",))
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    split = pick_split(
        run_data(model, eval_limit=args.limit if args.split != "train" else None), args.split
    )
    x = split.x[: args.limit] if args.limit else split.x
    means, log_vars = [], []
    with torch.inference_mode():
        for start in range(0, x.shape[0], args.batch_size):
            posterior = model.encode(x[start : start + args.batch_size].to(device))
            means.append(posterior.mean.cpu())
            if hasattr(posterior, "log_var"):
                log_vars.append(posterior.log_var.cpu())
    arrays = {"mean": torch.cat(means).numpy()}
    if log_vars:
        arrays["log_var"] = torch.cat(log_vars).numpy()
    if split.y is not None:
        arrays["labels"] = split.y[: x.shape[0]].numpy()
    write_with_atomic(out, lambda tmp: _save_npz(tmp, arrays))
    print(f"wrote latents of {x.shape[0]} examples ({', '.join(arrays)}) to {out}")
    return 0


def _save_npz(tmp, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
