"""`vaekit bench-codecs`: the model's lossless code against generic codecs on a split."""

from __future__ import annotations

import argparse

import numpy as np
import torch

from vaekit.cli.argtypes import THREADS, positive_int
from vaekit.cli.compress import set_threads
from vaekit.cli.runtime import open_model, pick_split, run_data
from vaekit.compression.comparison import compare_codecs, markdown_table
from vaekit.compression.networks import SYMBOL_LEVELS
from vaekit.data import as_tensor
from vaekit.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory written by `vaekit train`")
    parser.add_argument("--split", default="test", help="train | val | test (default: test)")
    parser.add_argument(
        "--limit", type=positive_int(), default=None, help="use the first N examples"
    )
    parser.add_argument(
        "--threads", type=THREADS, default=None, help="CPU threads (default: torch's)"
    )
    parser.add_argument("--no-generic", action="store_true", help="only vaekit and the ELBO (fast)")


def run(args: argparse.Namespace) -> int:
    set_threads(args.threads)
    model = open_model(args.run_dir, torch.device("cpu"))
    levels = SYMBOL_LEVELS.get(model.config.likelihood)
    if levels is None:
        raise ConfigError(f"a {model.config.likelihood} model is not a lossless codec")
    split = pick_split(run_data(model, eval_limit=args.limit), args.split)
    x = split.x[: args.limit] if args.limit else split.x
    stored = np.rint(as_tensor(x).numpy() * (levels - 1)).astype(np.uint8)
    comparison = compare_codecs(model, stored, generic=not args.no_generic)
    print(f"{comparison.num_examples} {args.split} examples, {stored[0].size} values each")
    print("\n".join(markdown_table(comparison)))
    speed = comparison.num_examples
    print(
        f"vaekit: compress {speed / comparison.compress_seconds:.0f} images/s, "
        f"decompress {speed / comparison.decompress_seconds:.0f} images/s "
        f"({torch.get_num_threads()} threads); header and initial bits "
        f"{comparison.overhead_bits} bits in all"
    )
    return 0
