"""`vaekit score`: per-example ELBO, NLL and anomaly score of a split or of new data, to CSV."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from vaekit.cli.argtypes import positive_int
from vaekit.cli.progress import show_bar
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    check_output,
    grey_run_data,
    model_data_spec,
    open_model,
    pick_split,
    run_data,
    run_data_config,
    seeded_generator,
)
from vaekit.data import DataSpec, Split, as_tensor
from vaekit.data.like import binarize_like, read_like
from vaekit.errors import ConfigError
from vaekit.features import AnomalyScores, anomaly_scores, score_rule
from vaekit.io import write_with_atomic

COLUMNS = ("index", "elbo_nats", "nll_nats", "score")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=False)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--data", default=None, help="a .npy/.npz/.csv file or an image folder to score"
    )
    source.add_argument("--split", default=None, help="train | val | test (default: test)")
    parser.add_argument("--out", required=True, help="CSV: index,elbo_nats,nll_nats,score")
    parser.add_argument(
        "--iw-samples", type=positive_int(100_000), default=100, help="K of the NLL (100)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_device_arguments(parser)


def _examples(args, model, spec: DataSpec) -> tuple[Split, torch.Tensor | None]:
    """(model inputs, grey values they were binarized from, or None)."""
    config = run_data_config(model)
    if args.data is not None:
        grey = read_like(config, spec, args.data)
        inputs = binarize_like(spec, grey)
        return inputs, grey.x if spec.binarize != "none" else None
    name = args.split or "test"
    inputs = pick_split(run_data(model), name)
    grey = None if spec.binarize == "none" else as_tensor(getattr(grey_run_data(model), name).x)
    return Split(as_tensor(inputs.x), inputs.y), grey


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".csv",))
    if not out.parent.exists():
        raise ConfigError(f"output folder {out.parent} does not exist")
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    if not model.has_likelihood_bound:
        raise ConfigError(
            f"a {type(model).__name__} has no likelihood bound to score with; "
            "its reconstruction error is in `vaekit eval`"
        )
    spec = model_data_spec(model)
    inputs, grey = _examples(args, model, spec)
    if model.is_conditional and inputs.y is None:
        raise ConfigError(f"{type(model).__name__} is conditional: the data to score need labels")
    passes = 3 if grey is not None and score_rule(model, spec.kind) == "bernoulli_excess" else 2
    with tqdm(
        total=passes * len(inputs), unit="img", file=sys.stderr, disable=not show_bar(args.quiet)
    ) as bar:
        scores = anomaly_scores(
            model,
            inputs.x.to(device),
            kind=spec.kind,
            grey=grey,
            y=inputs.y if model.is_conditional else None,
            num_samples=args.iw_samples,
            generator=seeded_generator(args.seed, device),
            progress=bar.update,
        )
    write_with_atomic(out, lambda tmp: _save_csv(tmp, scores))
    print(f"wrote scores of {len(inputs)} examples to {out} (score rule: {scores.rule})")
    return 0


def _save_csv(tmp: Path, scores: AnomalyScores) -> None:
    columns = [scores.elbo_nats.tolist(), scores.nll_nats.tolist(), scores.score.tolist()]
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index, values in enumerate(zip(*columns)):
            writer.writerow([index, *(f"{value:.6f}" for value in values)])
