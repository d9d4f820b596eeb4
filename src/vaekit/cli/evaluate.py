"""`vaekit eval`: ELBO, importance-weighted NLL and bits/dim of a trained model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from vaekit.cli.argtypes import nonnegative_int, positive_int
from vaekit.cli.progress import show_bar
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    open_model,
    pick_split,
    run_data,
)
from vaekit.errors import ConfigError
from vaekit.evaluation import BatchNoise, evaluate, evaluation_batch_multiple
from vaekit.io import write_text_atomic
from vaekit.training.distributed import World, in_process_group


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=True)
    parser.add_argument(
        "--iw-samples",
        type=nonnegative_int(),
        default=0,
        help="K importance samples for the NLL (0: ELBO only)",
    )
    parser.add_argument(
        "--limit", type=positive_int(), default=None, help="score only the first N examples"
    )
    parser.add_argument("--batch-size", type=positive_int(), default=10, help="examples per batch")
    parser.add_argument(
        "--chunk-size",
        type=positive_int(),
        default=200,
        help="importance samples per pass (bounds memory)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--save",
        action="store_true",
        help="also write the JSON object to RUN/eval.json, where `vaekit report` finds it",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    device = apply_runtime(args)
    # a single process unless torchrun started several
    return in_process_group(device, lambda world: _evaluate(args, device, world))


def _evaluate(args: argparse.Namespace, device: torch.device, world: World) -> int:
    """Each rank scores its block of the split; the per-example scores are gathered, so
    every rank holds the whole split's report and rank 0 prints it."""
    model = open_model(args.run_dir, device)
    if args.iw_samples > 0 and not model.has_likelihood_bound:
        raise ConfigError(
            f"--iw-samples needs a model with a likelihood bound; a {type(model).__name__} has "
            "none (without --iw-samples, eval reports its reconstruction error)"
        )
    data = run_data(model, eval_limit=args.limit if args.split != "train" else None)
    split = pick_split(data, args.split)
    x = split.x[: args.limit] if args.limit else split.x
    y = None if split.y is None else (split.y[: args.limit] if args.limit else split.y)
    # blocks on batch boundaries with draws tied to each batch's place: the figures of one
    # process, whatever the number of ranks
    rows = world.shard(x.shape[0], evaluation_batch_multiple(args.batch_size))
    if world.is_distributed:  # one process keeps the split whole: a mapped split stays a view
        x, y = x[rows], None if y is None else y[rows]
    with tqdm(
        total=x.shape[0],
        unit="img",
        file=sys.stderr,
        disable=not show_bar(args.quiet) or args.iw_samples == 0 or not world.is_main,
    ) as bar:
        report = evaluate(
            model,
            x.to(device),
            y=None if y is None else y.to(device),
            iw_samples=args.iw_samples,
            split=args.split,
            data_scaling=data.spec.scaling,
            batch_size=args.batch_size,
            chunk_size=args.chunk_size,
            generator=BatchNoise(args.seed, first_row=rows.start),
            progress=bar.update,
            gather=world.gather_rows if world.is_distributed else None,
        )
    if not world.is_main:
        return 0
    if args.save:
        write_text_atomic(Path(args.run_dir) / "eval.json", json.dumps(report.to_dict()) + "\n")
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(_describe(report))
    return 0


def _describe(report) -> str:
    lines = [f"{report.split} split, {report.num_examples} examples ({report.data_scaling})"]
    if report.conditional:
        lines.append("  figures are of log p(x | y), given the split's labels")
    if report.elbo_nats is not None:
        lines.append(f"  ELBO        {report.elbo_nats:10.3f} nats/example (higher is better)")
    if report.nll_nats is not None:
        lines.append(
            f"  NLL (K={report.iw_samples}) ".ljust(14) + f"{report.nll_nats:10.3f} nats/example "
            "(lower is better)"
        )
    if report.bits_per_dim is not None:
        lines.append(
            f"  bits/dim    {report.bits_per_dim:10.4f} (from {report.bits_per_dim_source})"
        )
    lines.append(f"  reconstruction {report.reconstruction_nats:7.3f} nats/example")
    if report.kl_nats is not None:
        lines.append(f"  KL          {report.kl_nats:10.3f} nats/example")
    if report.accuracy is not None:
        lines.append(f"  accuracy    {100 * report.accuracy:10.2f} % of labelled examples")
    if report.density_note:
        lines.append(f"  note: {report.density_note}")
    return "\n".join(lines)
