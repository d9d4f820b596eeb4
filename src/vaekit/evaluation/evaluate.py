"""evaluate(): ELBO, importance-weighted NLL and bits/dim of a model on one split."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from vaekit.errors import ConfigError
from vaekit.evaluation.report import EvalReport
from vaekit.evaluation.scores import (
    Noise,
    ProgressFn,
    classification_accuracy,
    elbo_scores,
    log_likelihood_scores,
)
from vaekit.likelihoods import BINARY_LIKELIHOODS
from vaekit.models import LatentVariableModel
from vaekit.units import nats_to_bits_per_dim

# the one-sample ELBO is cheap per example: it is scored in batches of at least this many
MIN_ELBO_BATCH = 500


def evaluation_batch_multiple(batch_size: int) -> int:
    """Rows a block of a split must be a multiple of to start on a batch boundary of both
    passes evaluate() makes (importance samples in batch_size, ELBO in larger batches)."""
    return math.lcm(batch_size, max(batch_size, MIN_ELBO_BATCH))


def evaluate(
    model: LatentVariableModel,
    x: torch.Tensor,
    *,
    y: torch.Tensor | None = None,
    iw_samples: int = 0,
    split: str = "test",
    data_scaling: str = "",
    batch_size: int = 10,
    chunk_size: int = 200,
    generator: Noise = None,
    progress: ProgressFn | None = None,
    gather: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> EvalReport:
    """Score `model` on x: (N, *input_shape), in the units the model's likelihood defines.

    iw_samples = K > 0 adds the importance-weighted NLL with K samples per example.
    y: (N,) int64 labels of x, or None. A conditional model needs them and is scored on
    log p(x | y); a model that classifies is also scored on its accuracy at predicting them.
    gather: for several processes that each score a block of the split, a function that
    concatenates every process's per-example (N_r,) tensor in order (vaekit.training's
    World.gather_rows); the report is then of the whole split, the same on every process.
    generator: a torch.Generator drawn from batch after batch, or a scores.BatchNoise, whose
    draws depend only on each batch's place in the split: blocks that start on a multiple of
    evaluation_batch_multiple(batch_size) then give one process's figures exactly.
    """
    if model.is_conditional and y is None:
        raise ConfigError(f"a {type(model).__name__} models p(x | y): evaluating it needs labels")
    given = y if model.is_conditional else None
    started = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        log_px, kls = elbo_scores(
            model, x, y=given, batch_size=max(batch_size, MIN_ELBO_BATCH), generator=generator
        )
        accuracy = None
        if model.classifies and y is not None:
            accuracy = classification_accuracy(
                model, x, y, batch_size=max(batch_size, MIN_ELBO_BATCH), gather=gather
            )
        nll = None
        if iw_samples > 0 and model.has_likelihood_bound:
            log_likelihood = log_likelihood_scores(
                model,
                x,
                iw_samples,
                y=given,
                batch_size=batch_size,
                chunk_size=chunk_size,
                generator=generator,
                progress=progress,
            )
            if gather is not None:
                log_likelihood = gather(log_likelihood)
            nll = float(-log_likelihood.double().mean())
    finally:
        model.train(was_training)
    if gather is not None:
        log_px, kls = gather(log_px), gather(kls)
    num_dims = math.prod(x.shape[1:])  # x may be a rank's empty block of the split
    elbo = float((log_px - kls).double().mean()) if model.has_likelihood_bound else None
    if nll is not None:
        bits, source = nats_to_bits_per_dim(nll, num_dims), "nll"
    elif elbo is not None:
        bits, source = nats_to_bits_per_dim(-elbo, num_dims), "negative_elbo"
    else:
        bits, source = None, "none"
    return EvalReport(
        split=split,
        num_examples=int(log_px.shape[0]),
        num_dims=num_dims,
        iw_samples=iw_samples if nll is not None else 0,
        elbo_nats=elbo,
        nll_nats=nll,
        bits_per_dim=bits,
        bits_per_dim_source=source,
        reconstruction_nats=float(-log_px.double().mean()),
        kl_nats=float(kls.double().mean()) if model.has_likelihood_bound else None,
        data_scaling=data_scaling,
        seconds=time.perf_counter() - started,
        density_note=density_note(model, x),
        conditional=model.is_conditional,
        accuracy=accuracy,
    )


def _is_binary(x: torch.Tensor, batch_size: int = 1000) -> bool:
    """Whether every value of x (N, ...) is 0 or 1, read in batches (x may be a mapped split)."""
    for start in range(0, x.shape[0], batch_size):
        batch = x[start : start + batch_size]
        if not bool(((batch == 0) | (batch == 1)).all()):
            return False
    return True


def density_note(model: LatentVariableModel, x: torch.Tensor) -> str:
    """Say when nats are not a code length: bits/dim only means one for discrete data."""
    likelihood = getattr(model.config, "likelihood", "")
    if likelihood in BINARY_LIKELIHOODS and not _is_binary(x):
        return (
            "Bernoulli likelihood of non-binary values: not a normalized density, "
            "so bits/dim is not a code length; binarize the data for comparable figures"
        )
    if likelihood == "gaussian":
        return "continuous Gaussian density: nats are not a code length of discrete data"
    return ""
