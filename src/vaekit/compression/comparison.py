"""vaekit's lossless code next to generic codecs and the model's own negative ELBO."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from vaekit.compression.baselines import CodecResult, generic_codec_results, missing_codecs
from vaekit.compression.bitsback import NUM_SEED_WORDS
from vaekit.compression.codec import DEFAULT_BATCH_SIZE, compress, decompress
from vaekit.compression.container import unpack
from vaekit.compression.networks import SYMBOL_LEVELS
from vaekit.errors import DataError
from vaekit.models import LatentVariableModel

VAEKIT_ROW = "vaekit bits-back (this model)"


@dataclass(frozen=True)
class Comparison:
    """Sizes of one set of images under every codec, and the model's negative ELBO.

    num_values: N * D. neg_elbo_nats: mean per example, float32 model, one z sample each.
    overhead_bits: header, checksum and seed words the first chunk consumed (initial bits).
    """

    num_examples: int
    num_values: int
    rows: list[CodecResult]
    neg_elbo_nats: float
    overhead_bits: int
    compress_seconds: float
    decompress_seconds: float
    missing: tuple[str, ...] = ()  # optional codecs left out because they are not installed

    def bits_per_dim(self, num_bytes: int) -> float:
        return num_bytes * 8 / self.num_values

    @property
    def neg_elbo_bits_per_dim(self) -> float:
        return self.neg_elbo_nats * self.num_examples / (self.num_values * math.log(2))


@torch.no_grad()
def negative_elbo_nats(
    model: LatentVariableModel, x: torch.Tensor, *, batch_size: int = 1000, seed: int = 0
) -> float:
    """Mean one-sample negative ELBO in nats per example; x: (N, *input_shape) model inputs."""
    generator = torch.Generator().manual_seed(seed)
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        total -= float(model.elbo(x[start : start + batch_size], generator=generator).sum())
    return total / x.shape[0]


def compare_codecs(
    model: LatentVariableModel,
    stored: np.ndarray,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    generic: bool = True,
) -> Comparison:
    """Code stored values (N, *input_shape) uint8 with vaekit (checking the round trip is
    exact) and, when `generic`, with every generic codec; DataError if a round trip fails."""
    levels = SYMBOL_LEVELS.get(model.config.likelihood, 0)
    # untimed: the first call builds the lookup tables (~0.5 s), which would otherwise be
    # billed to the compress speed of a small split
    compress(model, stored[:1], batch_size=batch_size)
    started = time.perf_counter()
    data = compress(model, stored, batch_size=batch_size)
    compress_seconds = time.perf_counter() - started
    started = time.perf_counter()
    restored = decompress(model, data)
    decompress_seconds = time.perf_counter() - started
    if not np.array_equal(restored, stored):
        raise DataError("vaekit's round trip was not exact")
    header, payload = unpack(data)
    overhead = (len(data) - 4 * payload.size) * 8 + 32 * (NUM_SEED_WORDS - header.seed_kept)
    note = "lossless, round trip exact"
    if header.mode == "hierarchical":
        note += f"; bits-back over {model.config.num_latent_layers} latent layers"
    rows = [CodecResult(VAEKIT_ROW, len(data), compress_seconds, note)]
    if generic:
        rows += generic_codec_results(stored.reshape(-1, *stored.shape[-2:]), levels)
    x = torch.from_numpy(stored.astype(np.float32) / (levels - 1))
    x = x.view(-1, *model.config.input_shape)
    return Comparison(
        num_examples=stored.shape[0],
        num_values=stored.size,
        rows=rows,
        neg_elbo_nats=negative_elbo_nats(model.eval(), x),
        overhead_bits=overhead,
        compress_seconds=compress_seconds,
        decompress_seconds=decompress_seconds,
        missing=tuple(missing_codecs()) if generic else (),
    )


def markdown_table(comparison: Comparison) -> list[str]:
    """Rows sorted by size, with bits/dim and the margin of vaekit over each codec."""
    ours = comparison.rows[0].num_bytes
    lines = [
        "| codec | bits/dim | vaekit saves | note |",
        "|---|---|---|---|",
        f"| negative ELBO of the model (float32) | {comparison.neg_elbo_bits_per_dim:.4f} | "
        "| not a file: the target |",
    ]
    for row in sorted(comparison.rows, key=lambda r: r.num_bytes):
        saving = "" if row.num_bytes == ours else f"{100 * (1 - ours / row.num_bytes):.1f}%"
        bits = comparison.bits_per_dim(row.num_bytes)
        lines.append(f"| {row.name} | {bits:.4f} | {saving} | {row.note} |")
    for note in comparison.missing:
        name, _, why = note.partition(": ")
        lines.append(f"| {name} | - | | {why} |")
    return lines
