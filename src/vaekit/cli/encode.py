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
from vaekit.data import Split
from vaekit.data.raw import SPLIT_CODES
from vaekit.io import write_with_atomic
from vaekit.sampling import known_labels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=False)
    parser.add_argument(
        "--split",
        default="test",
        help="train | val | test | all (default: test); all writes the three splits with a "
        "split member (0 train, 1 val, 2 test) that `vaekit train --data` keeps",
    )
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
    names = list(SPLIT_CODES) if args.split == "all" else [args.split]
    data = run_data(model, eval_limit=args.limit if "train" not in names else None)
    parts = [_encode_split(model, pick_split(data, name), args, device) for name in names]
    arrays = parts[0] if len(parts) == 1 else {
        key: np.concatenate([part[key] for part in parts]) for key in parts[0]
    }  # fmt: skip
    if args.split == "all":
        arrays["split"] = np.concatenate(
            [np.full(len(part["mean"]), SPLIT_CODES[name]) for name, part in zip(names, parts)]
        )
    write_with_atomic(out, lambda tmp: _save_npz(tmp, arrays))
    print(f"wrote latents of {len(arrays['mean'])} examples ({', '.join(arrays)}) to {out}")
    return 0


def _encode_split(
    model, split: Split, args: argparse.Namespace, device: torch.device
) -> dict[str, np.ndarray]:
    """mean, log_var (when the posterior has one) and labels of the first --limit examples.

    A model that reads labels encodes with the split's labels (a classifying model fills
    unknown ones with its own choice); the labels written are the split's own."""
    x = split.x[: args.limit] if args.limit else split.x
    y = None if split.y is None else split.y[: x.shape[0]]
    arrays: dict[str, np.ndarray] = {}
    with torch.inference_mode():
        for start in range(0, x.shape[0], args.batch_size):
            xb = x[start : start + args.batch_size].to(device)
            yb = None if y is None else y[start : start + args.batch_size].to(device)
            posterior = model.encode(xb, known_labels(model, xb, yb))
            found = {"mean": posterior.mean, "log_var": getattr(posterior, "log_var", None)}
            for key, value in found.items():
                if value is None:
                    continue
                if key not in arrays:  # filled batch by batch: no list of parts, no copy
                    arrays[key] = np.empty((x.shape[0], *value.shape[1:]), dtype=np.float32)
                arrays[key][start : start + len(value)] = value.float().cpu().numpy()
    if y is not None:
        arrays["labels"] = y.numpy()
    return arrays


def _save_npz(tmp, arrays: dict[str, np.ndarray]) -> None:
    with open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
