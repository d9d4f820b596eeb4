"""Evaluation: ELBO, importance-weighted log-likelihood, bits/dim -> EvalReport."""

from vaekit.evaluation.evaluate import evaluate
from vaekit.evaluation.report import EvalReport
from vaekit.evaluation.scores import (
    classification_accuracy,
    elbo_scores,
    log_likelihood_scores,
)

__all__ = [
    "EvalReport",
    "classification_accuracy",
    "elbo_scores",
    "evaluate",
    "log_likelihood_scores",
]
