"""Per-example anomaly scores (higher = more anomalous), corrected for input complexity.

A likelihood alone ranks out-of-distribution inputs badly: the Bernoulli NLL of a binarized
image is dominated by how noisy its binarization is, and simple images (flat, few strokes)
get high likelihood under almost any image model (Nalisnick et al. 2019). The score
subtracts what the input costs regardless of the model, by rule (see `score_rule`):
- "bernoulli_excess" (Bernoulli likelihood): -log p(x_grey) - H(x_grey), where log p is the
  importance-weighted bound with the grey values as Bernoulli targets and H is the entropy of
  binarizing the image, sum_i h(x_i), h the binary entropy. This is the expected code length
  of a binarization of x minus its unavoidable part: the model's excess nats over the noise.
- "complexity" (other image likelihoods): NLL - L(x), L the zlib code length of the 8-bit
  image in nats, a generic lossless compressor standing in for the input's complexity
  (Serrà et al. 2020).
- "nll" (tables): the NLL itself, there being no generic compressor of real-valued rows.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from vaekit.errors import ConfigError
from vaekit.models import LatentVariableModel

SCORE_RULES = ("bernoulli_excess", "complexity", "nll")
ZLIB_LEVEL = 9
IW_BATCH = 20  # examples per log_likelihood call: 20 x K rows, as vaekit eval's bounded passes
ProgressFn = Callable[[int], None]


@dataclass(frozen=True)
class AnomalyScores:
    """Per-example values, each (N,): ELBO (one sample, nats, higher = more likely),
    NLL (-importance-weighted bound, nats) and the anomaly score (nats, see module doc)."""

    elbo_nats: torch.Tensor
    nll_nats: torch.Tensor
    score: torch.Tensor
    rule: str


def score_rule(model: LatentVariableModel, kind: str) -> str:
    """Which correction the model's likelihood gets; kind is the DataSpec kind."""
    if kind == "table":
        return "nll"
    return (
        "bernoulli_excess"
        if getattr(model.config, "likelihood", None) == "bernoulli"
        else ("complexity")
    )


def binary_entropy_nats(p: torch.Tensor) -> torch.Tensor:
    """sum over pixels of -p log p - (1 - p) log(1 - p): (N, ...) in [0, 1] -> (N,) nats;
    0 for binary images."""
    p = p.reshape(p.shape[0], -1).double()
    terms = -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p))
    return terms.sum(dim=1).float()


def compressed_nats(x: torch.Tensor) -> torch.Tensor:
    """zlib (level 9) code length of each image as 8-bit bytes round(255 x), in nats.

    x: (N, *shape) in [0, 1]. Returns (N,) float32 (bytes * 8 * ln 2).
    """
    pixels = np.round(x.reshape(x.shape[0], -1).cpu().numpy() * 255).astype(np.uint8)
    lengths = [len(zlib.compress(row.tobytes(), ZLIB_LEVEL)) for row in pixels]
    return torch.tensor(lengths, dtype=torch.float32) * (8 * math.log(2))


def _batched(
    fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor | None,
    batch_size: int,
    progress: ProgressFn | None,
) -> torch.Tensor:
    device = x.device
    out = []
    for start in range(0, x.shape[0], batch_size):
        labels = None if y is None else y[start : start + batch_size].to(device)
        out.append(fn(x[start : start + batch_size], labels).float().cpu())
        if progress is not None:
            progress(min(batch_size, x.shape[0] - start))
    return torch.cat(out)


@torch.inference_mode()
def anomaly_scores(
    model: LatentVariableModel,
    x: torch.Tensor,
    *,
    kind: str,
    grey: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    num_samples: int = 100,
    generator: torch.Generator | None = None,
    progress: ProgressFn | None = None,
) -> AnomalyScores:
    """ELBO, NLL and anomaly score of every example.

    x: (N, *input_shape) model inputs (binarized for a binarized run), on the model's device.
    kind: "image" | "table". grey: (N, *input_shape) the grey values x was binarized from
    (binarized runs; None when x holds them). y: (N,) labels for a conditional model.
    num_samples: K of the importance-weighted NLL (K = 1 gives the one-sample bound).
    progress: called with the number of examples done, twice per example (bound, then NLL),
    three times for the Bernoulli rule on binarized inputs.
    """
    if not model.has_likelihood_bound:
        raise ConfigError(
            f"{type(model).__name__} has no likelihood bound to score with; "
            "use its reconstruction error"
        )
    if model.is_conditional and y is None:
        raise ConfigError("a conditional model scores p(x | y): the data need labels")
    if num_samples < 1:
        raise ConfigError(f"num_samples must be >= 1, got {num_samples}")

    def bound(batch, labels):
        return model.log_likelihood(batch, num_samples, y=labels, generator=generator)

    def one_sample(batch, labels):
        return model.elbo(batch, y=labels, generator=generator)

    elbo = _batched(one_sample, x, y, 1000, progress)
    nll = -_batched(bound, x, y, IW_BATCH, progress)
    rule = score_rule(model, kind)
    if rule == "bernoulli_excess":
        grey_nll = (
            nll if grey is None else -_batched(bound, grey.to(x.device), y, IW_BATCH, progress)
        )
        score = grey_nll - binary_entropy_nats(x if grey is None else grey)
    elif rule == "complexity":
        score = nll - compressed_nats(x)
    else:
        score = nll.clone()
    return AnomalyScores(elbo_nats=elbo, nll_nats=nll, score=score, rule=rule)


@torch.inference_mode()
def reconstruction_errors(
    model: LatentVariableModel, x: torch.Tensor, *, batch_size: int = 1000
) -> torch.Tensor:
    """Squared error between x and the reconstruction, summed over dims: (N,), the anomaly
    score of a plain autoencoder. x: (N, *input_shape) on the model's device."""

    def error(batch, _labels):
        return (model.reconstruct(batch) - batch).pow(2).flatten(1).sum(dim=1)

    return _batched(error, x, None, batch_size, None)
