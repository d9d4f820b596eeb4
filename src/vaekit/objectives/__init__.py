"""Objectives: per-example bounds in nats, computed from distributions and a decoder.

They sit just below `models` (not beside them) so that a model's `elbo()` and
`log_likelihood()` are thin delegates here and the maths has one home.
"""

from vaekit.objectives.elbo import Decoder, ELBOTerms, elbo_terms
from vaekit.objectives.iwae import (
    ImportanceTerms,
    chunked_iwae,
    importance_terms,
    iwae_bound,
    iwae_from_log_weights,
    log_importance_weights,
)
from vaekit.objectives.losses import OBJECTIVES, batch_loss, free_bits_kl

__all__ = [
    "OBJECTIVES",
    "Decoder",
    "ELBOTerms",
    "ImportanceTerms",
    "batch_loss",
    "chunked_iwae",
    "elbo_terms",
    "free_bits_kl",
    "importance_terms",
    "iwae_bound",
    "iwae_from_log_weights",
    "log_importance_weights",
]
