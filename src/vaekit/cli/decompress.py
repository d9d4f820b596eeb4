"""`vaekit decompress`: a .vkz file back to the array it was made from, as .npy."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from vaekit.cli.argtypes import THREADS
from vaekit.cli.compress import LazyBar, set_threads
from vaekit.cli.progress import show_bar
from vaekit.cli.runtime import check_output, open_model
from vaekit.compression import decompress
from vaekit.compression.container import unpack
from vaekit.errors import DataError
from vaekit.io import write_with_atomic

MAX_FILE_BYTES = 1 << 34


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="the run directory whose model compressed the file")
    parser.add_argument("input", help="a .vkz file from `vaekit compress`")
    parser.add_argument("-o", "--out", required=True, help="the .npy array to write")
    parser.add_argument(
        "--threads", type=THREADS, default=None, help="CPU threads (default: torch's)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    out = check_output(args.out, (".npy",))
    set_threads(args.threads)
    path = Path(args.input)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not a .vkz file")
    data = path.read_bytes()
    model = open_model(args.run_dir, torch.device("cpu"))
    header, _ = unpack(data)
    count = int(np.prod(header.shape)) // int(np.prod(model.config.input_shape))
    started = time.perf_counter()
    bar = LazyBar(count, enabled=show_bar(args.quiet) and header.mode != "lossy")
    try:
        array = decompress(model, data, progress=bar.update)
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    write_with_atomic(out, lambda tmp: _write_npy(tmp, array))
    print(f"wrote {out}: {array.dtype} {tuple(array.shape)} ({header.mode}) in {seconds:.2f} s")
    return 0


def _write_npy(tmp: Path, array: np.ndarray) -> None:
    with open(tmp, "wb") as handle:  # a handle: np.save would append .npy to a bare name
        np.save(handle, array, allow_pickle=False)
