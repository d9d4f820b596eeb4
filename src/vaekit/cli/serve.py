"""`vaekit serve`: the explorer, a local web page to play with a trained model."""

from __future__ import annotations

import argparse
import socket

from vaekit.cli.argtypes import int_in, positive_float
from vaekit.cli.runtime import (
    add_device_arguments,
    add_run_arguments,
    apply_runtime,
    model_data_spec,
    open_model,
    pick_split,
    run_data,
)
from vaekit.errors import CheckpointError, ConfigError
from vaekit.serve.app import create_app, starlette_modules
from vaekit.serve.explorer import Explorer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, with_split=False)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes "
        "the explorer to the network)",
    )
    parser.add_argument("--port", type=int_in(0, 65535), default=8008, help="default 8008")
    parser.add_argument(
        "--max-upload-mb",
        type=positive_float(1024),
        default=5.0,
        help="largest image file accepted, MiB (default 5)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="load the run and prepare the page, then exit"
    )
    add_device_arguments(parser)


def run(args: argparse.Namespace) -> int:
    starlette_modules()  # the one-line error for a missing extra, before any work
    uvicorn = _uvicorn()
    device = apply_runtime(args)
    model = open_model(args.run_dir, device)
    try:
        examples = pick_split(run_data(model), "test")
    except CheckpointError:  # saved without training data: sliders only, from z = 0
        examples = None
    explorer = Explorer(model, model_data_spec(model), examples, seed=args.seed)
    app = create_app(explorer, max_upload_bytes=int(args.max_upload_mb * 2**20))
    if args.dry_run:
        print(f"explorer ready for {args.run_dir} (--dry-run: not serving)")
        return 0
    _check_port_free(args.host, args.port)
    print(f"serving the explorer of {args.run_dir} at http://{args.host}:{args.port}/ "
          "(Ctrl-C stops it)", flush=True)  # fmt: skip
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _uvicorn():
    try:
        import uvicorn
    except ImportError:
        raise ConfigError(
            "the explorer needs starlette and uvicorn: pip install 'vaekit[serve]'"
        ) from None
    return uvicorn


def _check_port_free(host: str, port: int) -> None:
    """ConfigError in one line when host:port cannot be listened on (in use, bad address)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except (OSError, OverflowError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None
