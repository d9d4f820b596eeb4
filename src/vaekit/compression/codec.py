"""compress / decompress: numpy arrays <-> .vkz bytes with a VAE, lossless or lossy."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from vaekit.compression import bitsback, bitsback_hierarchical
from vaekit.compression.bitsback import (
    ProgressFn,
    StackRanDryError,
    compress_symbols,
    decompress_symbols,
)
from vaekit.compression.bitsback_hierarchical import (
    compress_hierarchical,
    decompress_hierarchical,
)
from vaekit.compression.container import Header, pack, unpack
from vaekit.compression.hierarchy import HierarchicalCodingNetworks
from vaekit.compression.level_tree import TREE_CODED
from vaekit.compression.lossy import MAX_LATENT_BITS, compress_lossy, decompress_lossy
from vaekit.compression.networks import CodingNetworks
from vaekit.compression.symbols import example_count, restore, to_symbols
from vaekit.errors import ConfigError, DataError
from vaekit.models import HierarchicalVAE, LatentVariableModel

DEFAULT_PRECISION = 8  # latent buckets per dimension: 2**8 (see docs/compression.md)
# 8-bit models have posteriors as narrow as ~0.02, where 2**8 buckets are too coarse. The
# buckets are coded down a binary tree (one decision per bit), so more of them cost little
# time: the convolutional 8-bit preset model coded the 10,000 test images at 3.3933 bits/dim
# with 10, 3.3570 with 12, 3.3451 with 14 and 3.3426 with 16 (its -ELBO: 3.3417), at about
# the same speed (docs/benchmarks/eightbit.md)
EIGHT_BIT_PRECISION = 16
DEFAULT_BATCH_SIZE = 256
MAX_PRECISION = 16
# the bits-back coders, by the header's mode: (exact networks, compress, decompress)
LOSSLESS_CODERS = {
    "lossless": (CodingNetworks, compress_symbols, decompress_symbols),
    "hierarchical": (HierarchicalCodingNetworks, compress_hierarchical, decompress_hierarchical),
}


# each lossless mode's chunk ramps, fastest first: a file's header names the one it used
RAMPS = {"lossless": bitsback.RAMPS, "hierarchical": bitsback_hierarchical.RAMPS}


def model_fingerprint(model: LatentVariableModel) -> str:
    """SHA-256 (hex) of the model's config and weights: names, dtypes, shapes and bytes."""
    digest = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        digest.update(f"{name}|{array.dtype.str}|{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def compress(
    model: LatentVariableModel,
    array: np.ndarray,
    *,
    lossy: bool = False,
    latent_bits: int = 8,
    precision: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    rows_per_pass: int | None = None,
    progress: ProgressFn | None = None,
) -> bytes:
    """Code `array` (any shape holding whole examples of the model's input shape) as .vkz bytes.

    Lossless: bits-back ANS with 2**precision latent buckets (None: default_precision);
    decompress returns the array
    bit for bit. Lossy: latent means in 2**latent_bits buckets, latent_dim * latent_bits bits
    per example. rows_per_pass splits network passes (the output does not depend on it).
    Raises DataError when the values are not what the model codes.
    """
    if precision is None:
        precision = default_precision(model)
    bits = latent_bits if lossy else precision
    limit = MAX_LATENT_BITS if lossy else MAX_PRECISION
    if not 1 <= bits <= limit:
        name = "latent_bits" if lossy else "precision"
        raise ConfigError(f"{name} must be in 1..{limit}, got {bits}")
    if not 1 <= batch_size <= 2**20:
        raise ConfigError(f"batch_size must be in 1..{2**20}, got {batch_size}")
    mode = "lossy" if lossy else lossless_mode(model)
    if lossy:
        if isinstance(model, HierarchicalVAE):
            raise ConfigError(
                "lossy mode codes one layer of latent means; a hierarchical VAE (hvae) "
                "codes losslessly only"
            )
        networks = CodingNetworks(model, rows_per_pass=rows_per_pass)
        symbols = to_symbols(np.asarray(array), networks.levels, networks.input_shape)
        payload = compress_lossy(networks, symbols, latent_bits=bits, batch_size=batch_size)
        seed_kept = 0
    else:
        networks_class, compress_with, _ = LOSSLESS_CODERS[mode]
        networks = networks_class(model, rows_per_pass=rows_per_pass)
        symbols = to_symbols(np.asarray(array), networks.levels, networks.input_shape)
        ramp, payload, seed_kept = _compress_ramped(
            compress_with, RAMPS[mode], networks, symbols, bits, batch_size, progress
        )
    header = Header(
        mode=mode,
        precision=bits,
        batch_size=batch_size,
        seed_kept=seed_kept,
        model_sha256=model_fingerprint(model),
        dtype=np.asarray(array).dtype.str,
        shape=tuple(int(s) for s in np.asarray(array).shape),
        tree_coded=not lossy and networks.tree_coded,
        ramp=0 if lossy else ramp,
    )
    return pack(header, payload)


def _compress_ramped(compress_with, ramps, networks, symbols, precision, batch_size, progress):
    """(ramp index, payload, seed words kept) of the first of `ramps` whose chunks never pop the
    stack dry; the last is used whatever happens. A dry stack shows within the first chunks,
    so a retry costs little; the progress reported never goes back."""
    reported = 0

    def forward(done: int) -> None:
        nonlocal reported
        if progress is not None and done > reported:
            progress(done - reported)
            reported = done

    for index, ramp in enumerate(ramps):
        done = 0

        def count(examples: int) -> None:
            nonlocal done
            done += examples
            forward(done)

        last = index == len(ramps) - 1
        try:
            payload, seed_kept = compress_with(networks, symbols, precision=precision,
                                               batch_size=batch_size, ramp=ramp,
                                               stop_if_dry=not last, progress=count)  # fmt: skip
        except StackRanDryError:
            continue
        return index, payload, seed_kept
    raise AssertionError("unreachable: the last ramp does not stop")


def decompress(
    model: LatentVariableModel,
    data: bytes,
    *,
    rows_per_pass: int | None = None,
    progress: ProgressFn | None = None,
) -> np.ndarray:
    """Inverse of compress: .vkz bytes -> the array (lossless: bit-exact; lossy: decoded).

    Raises DataError for a file that is not vaekit's, corrupt, truncated, of another format
    version, or coded with a different model.
    """
    header, payload = unpack(data)
    expected = model_fingerprint(model)
    if header.model_sha256 != expected:
        raise DataError(
            f"this file was compressed with another model (weights sha256 "
            f"{header.model_sha256[:12]}...), not this one ({expected[:12]}...)"
        )
    if header.mode not in ("lossy", lossless_mode(model)):
        raise DataError(f"corrupt file: mode {header.mode} for a {type(model).__name__}")
    if header.mode == "lossy":
        networks = CodingNetworks(model, rows_per_pass=rows_per_pass)
        decompress_with = None
    else:
        networks_class, _, decompress_with = LOSSLESS_CODERS[header.mode]
        networks = networks_class(model, rows_per_pass=rows_per_pass)
        networks.tree_coded = header.tree_coded
    dtype = _checked_dtype(header.dtype)
    count = example_count(header.shape, networks.input_shape)
    if decompress_with is None:
        if not 1 <= header.precision <= MAX_LATENT_BITS:
            raise DataError(f"corrupt file: latent bits {header.precision}")
        symbols = decompress_lossy(
            networks,
            payload,
            count,
            latent_bits=header.precision,
            batch_size=header.batch_size,
        )
    else:
        if not 1 <= header.precision <= MAX_PRECISION:
            raise DataError(f"corrupt file: latent precision {header.precision}")
        if header.ramp >= len(RAMPS[header.mode]):
            raise DataError(f"corrupt file: chunk ramp {header.ramp}")
        symbols = decompress_with(
            networks,
            payload,
            header.seed_kept,
            count,
            precision=header.precision,
            batch_size=header.batch_size,
            ramp=RAMPS[header.mode][header.ramp],
            progress=progress,
        )
    return restore(symbols, networks.levels, dtype, header.shape)


def default_precision(model: LatentVariableModel) -> int:
    """Latent bucket bits when none are given: EIGHT_BIT_PRECISION for models of 8-bit
    levels, DEFAULT_PRECISION for the rest."""
    return EIGHT_BIT_PRECISION if model.config.likelihood in TREE_CODED else DEFAULT_PRECISION


def lossless_mode(model: LatentVariableModel) -> str:
    """The header mode of `model`'s bits-back code: "hierarchical" for an hvae."""
    return "hierarchical" if isinstance(model, HierarchicalVAE) else "lossless"


def _checked_dtype(text: str) -> np.dtype:
    try:
        dtype = np.dtype(text)
    except TypeError as err:
        raise DataError(f"corrupt file: unknown dtype {text!r}") from err
    if not (np.issubdtype(dtype, np.number) or dtype == np.bool_) or dtype.hasobject:
        raise DataError(f"corrupt file: unsupported dtype {text!r}")
    return dtype
