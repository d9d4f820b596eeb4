"""Evaluation: ELBO, importance-weighted log-likelihood, bits/dim -> EvalReport."""

from vaekit.evaluation.evaluate import evaluate, evaluation_batch_multiple
from vaekit.evaluation.report import EvalReport
from vaekit.evaluation.scores import (
    BatchNoise,
    classification_accuracy,
    elbo_scores,
    log_likelihood_scores,
)

__all__ = [
    "BatchNoise",
    "EvalReport",
    "classification_accuracy",
    "elbo_scores",
    "evaluate",
    "evaluation_batch_multiple",
    "log_likelihood_scores",
]
