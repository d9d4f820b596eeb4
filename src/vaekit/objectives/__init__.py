"""Objectives: per-example bounds in nats, computed from distributions and a decoder.

They sit just below `models` (not beside them) so that a model's `elbo()` and
`log_likelihood()` are thin delegates here and the maths has one home.
"""

from vaekit.objectives.elbo import Decoder, ELBOTerms, elbo_terms
from vaekit.objectives.iwae import iwae_bound, log_importance_weights

__all__ = ["Decoder", "ELBOTerms", "elbo_terms", "iwae_bound", "log_importance_weights"]
