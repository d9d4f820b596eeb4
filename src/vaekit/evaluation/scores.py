"""Per-example scores of a model on a tensor of data, computed in bounded-memory batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from vaekit.models import LatentVariableModel

ProgressFn = Callable[[int], None]
# streams of BatchNoise: the one-sample ELBO and the importance samples draw apart
ELBO_STREAM, IMPORTANCE_STREAM = 0, 1


@dataclass(frozen=True)
class BatchNoise:
    """Random draws tied to where a batch lies in the whole split, not to which process
    scores it or what it scored before: the batch that starts at row r of the split draws
    from a generator seeded with (seed, stream, r). A split scored in blocks by several
    processes then gets the draws one process makes, as long as every block starts on a
    batch boundary (World.shard's `multiple`).

    first_row: the whole split's index of the first row of the x being scored.
    """

    seed: int
    first_row: int = 0

    def generator(self, stream: int, start: int, device: torch.device) -> torch.Generator:
        """A fresh generator for the batch at row `start` of x (SeedSequence mixes the three
        numbers, the same on every platform and Python version)."""
        key = [self.seed, stream, self.first_row + start]
        state = np.random.SeedSequence(key).generate_state(1, np.uint64)[0]
        return torch.Generator(device=device).manual_seed(int(state))


Noise = torch.Generator | BatchNoise | None


def batch_generator(
    noise: Noise, stream: int, start: int, device: torch.device
) -> torch.Generator | None:
    """The generator the batch at row `start` draws from: BatchNoise's own, else `noise`."""
    if isinstance(noise, BatchNoise):
        return noise.generator(stream, start, device)
    return noise


@torch.inference_mode()
def elbo_scores(
    model: LatentVariableModel,
    x: torch.Tensor,
    *,
    y: torch.Tensor | None = None,
    batch_size: int = 1000,
    generator: Noise = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One-sample ELBO terms for every example.

    x: (N, *input_shape); y: (N,) labels or None, given to the model as training gives them.
    generator: one generator for every batch in turn, or BatchNoise.
    Returns (log p(x|z), KL) as two (N,) tensors in nats.
    """
    log_px = kls = torch.empty(0)
    for start in range(0, x.shape[0], batch_size):
        stop = start + batch_size
        terms = model.training_terms(
            x[start:stop],
            y=None if y is None else y[start:stop],
            generator=batch_generator(generator, ELBO_STREAM, start, x.device),
        )
        if start == 0:
            log_px, kls = _output(terms.log_px_given_z, x), _output(terms.kl, x)
        log_px[start:stop] = terms.log_px_given_z
        kls[start:stop] = terms.kl
    return log_px, kls


def _output(first: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """An (N,) tensor like a first batch's (B,) scores, filled batch by batch. Keeping each
    batch's scores in a list instead let the C heap grow with every batch when batches are
    fresh tensors (a memory-mapped split): 1.5 GB over 383 batches of 1,000, measured."""
    return first.new_empty(x.shape[0])


@torch.inference_mode()
def log_likelihood_scores(
    model: LatentVariableModel,
    x: torch.Tensor,
    num_samples: int,
    *,
    y: torch.Tensor | None = None,
    batch_size: int = 10,
    chunk_size: int = 200,
    generator: Noise = None,
    progress: ProgressFn | None = None,
) -> torch.Tensor:
    """Importance-weighted log p(x) estimate per example with K = num_samples: (N,) nats.
    generator: one generator for every batch in turn, or BatchNoise.

    y: (N,) labels, for a conditional model's log p(x | y); None otherwise.

    Peak memory is about batch_size * chunk_size decoder outputs. The defaults (10 x 200 =
    2,000 rows per pass) keep those outputs small enough to stay in cache, which measured
    faster on a 2-core CPU than 10,000 rows per pass (docs/benchmarks/eval_speed.md).
    """
    scores = torch.empty(0)
    for start in range(0, x.shape[0], batch_size):
        batch = x[start : start + batch_size]
        labels = None if y is None else y[start : start + batch_size]
        # the model's own bound: a hierarchical model samples its whole posterior
        batch_scores = model.log_likelihood(
            batch,
            num_samples,
            y=labels,
            chunk_size=chunk_size,
            generator=batch_generator(generator, IMPORTANCE_STREAM, start, x.device),
        )
        if start == 0:
            scores = _output(batch_scores, x)
        scores[start : start + batch_size] = batch_scores
        if progress is not None:
            progress(batch.shape[0])
    return scores


@torch.inference_mode()
def classification_accuracy(
    model: LatentVariableModel,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 1000,
    gather: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> float | None:
    """Fraction of the labelled examples (y >= 0) that `model.classify` gets right; None when
    no example is labelled. x: (N, *input_shape), y: (N,) int64. gather: see `evaluate`."""
    predictions = torch.cat(
        [
            model.classify(x[start : start + batch_size]).argmax(dim=-1)
            for start in range(0, x.shape[0], batch_size)
        ]
    ) if x.shape[0] else y.new_empty(0)  # fmt: skip
    if gather is not None:
        predictions, y = gather(predictions), gather(y)
    labelled = y >= 0
    if not bool(labelled.any()):
        return None
    return float((predictions == y)[labelled].double().mean())
