"""The `vaekit` command: parse, set up logging, run one command, turn errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from vaekit.errors import VaekitError
from vaekit.version import __version__

# command -> (module under vaekit.cli, help); build_parser imports every one for its flags
COMMANDS = {
    "train": ("train", "train a model and write a run directory"),
    "eval": ("evaluate", "ELBO, importance-weighted NLL and bits/dim on a split"),
    "sample": ("sample", "generate new examples from the prior"),
    "reconstruct": ("reconstruct", "originals next to their reconstructions"),
    "interpolate": ("interpolate", "decode a latent path between two examples"),
    "traverse": ("traverse", "vary one latent coordinate at a time"),
    "encode": ("encode", "posterior means/log-variances of a split to .npz"),
    "compress": ("compress", "code images into a .vkz file (lossless bits-back, or lossy)"),
    "decompress": ("decompress", "restore the array a .vkz file was made from"),
    "bench-codecs": ("bench_codecs", "bits/dim of the model's code against generic codecs"),
}

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaekit", description="Variational autoencoders on PyTorch."
    )
    parser.add_argument("--version", action="version", version=f"vaekit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"vaekit.cli.{module_name}")
        module.add_arguments(subparsers.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, format="vaekit: %(levelname)s: %(message)s", stream=sys.stderr
    )
    if args.verbose:  # vaekit's own debug lines only, not every library's
        logging.getLogger("vaekit").setLevel(logging.DEBUG)
    module = importlib.import_module(f"vaekit.cli.{COMMANDS[args.command][0]}")
    try:
        return module.run(args)
    except VaekitError as err:
        print(f"vaekit: error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as err:
        where = f": {err.filename}" if err.filename else ""
        print(f"vaekit: error: {err.strerror or err}{where}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
