"""`vaekit compress`: code an array or a folder of images with a trained VAE into a .vkz file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from vaekit.cli.argtypes import THREADS, int_in, positive_int
from vaekit.cli.progress import show_bar
from vaekit.cli.runtime import check_output, open_model
from vaekit.compression import compress
from vaekit.compression.codec import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PRECISION,
    EIGHT_BIT_PRECISION,
    MAX_PRECISION,
)
from vaekit.compression.lossy import MAX_LATENT_BITS
from vaekit.compression.symbols import example_count
from vaekit.data import DataConfig
from vaekit.data.imagefolder import read_image_folder
from vaekit.data.npyformat import read_npy_stream
from vaekit.errors import ConfigError, DataError
from vaekit.io import write_bytes_atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory written by `vaekit train`")
    parser.add_argument("input", help="a .npy array or a folder of images (8-bit models)")
    parser.add_argument("-o", "--out", required=True, help="the .vkz file to write")
    parser.add_argument(
        "--lossy", action="store_true", help="code quantized latent means only (not exact)"
    )
    parser.add_argument(
        "--latent-bits",
        type=int_in(1, MAX_LATENT_BITS),
        default=8,
        help="lossy: bits per latent (default: 8)",
    )
    parser.add_argument(
        "--precision",
        type=int_in(1, MAX_PRECISION),
        default=None,
        help=f"lossless: latent buckets are 2**precision (default: {EIGHT_BIT_PRECISION} for "
        f"8-bit models, {DEFAULT_PRECISION} for the rest)",
    )
    parser.add_argument("--batch-size", type=positive_int(), default=DEFAULT_BATCH_SIZE)
    parser.add_argument(
        "--threads", type=THREADS, default=None, help="CPU threads (default: torch's)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def read_input(path: Path) -> np.ndarray:
    """A .npy array as stored, or a folder of images as uint8 (N, C, H, W) levels (0/1 for
    1-bit images)."""
    if path.is_dir():
        examples = read_image_folder(path, DataConfig(source=str(path)))
        return np.rint(examples.x * ((examples.levels or 256) - 1)).astype(np.uint8)
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path}: give a .npy array or a folder of images")
    with path.open("rb") as handle:
        return read_npy_stream(handle, path.stat().st_size, str(path))


class LazyBar:
    """A tqdm bar opened on the first update, so an early error prints one line, no bar."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled, self.bar = total, enabled, None

    def update(self, count: int) -> None:
        if self.bar is None and self.enabled:
            self.bar = tqdm(total=self.total, unit="img", file=sys.stderr)
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".vkz",))
    set_threads(args.threads)
    model = open_model(args.run_dir, torch.device("cpu"))
    array = read_input(Path(args.input))
    count = example_count(array.shape, tuple(model.config.input_shape))  # before any work
    started = time.perf_counter()
    bar = LazyBar(count, enabled=show_bar(args.quiet) and not args.lossy)
    try:
        data = compress(
            model,
            array,
            lossy=args.lossy,
            latent_bits=args.latent_bits,
            precision=args.precision,
            batch_size=args.batch_size,
            progress=bar.update,
        )
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    write_bytes_atomic(out, data)
    print(
        f"wrote {out}: {array.size} values in {len(data)} bytes "
        f"({len(data) * 8 / array.size:.4f} bits/dim, {'lossy' if args.lossy else 'lossless'}) "
        f"in {seconds:.2f} s"
    )
    return 0
