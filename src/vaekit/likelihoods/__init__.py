"""Likelihood heads p(x|z) and their registry."""

from vaekit.likelihoods.autoregressive import AutoregressiveBernoulliHead
from vaekit.likelihoods.discretized_logistic import DiscretizedLogisticHead
from vaekit.likelihoods.heads import BernoulliHead, GaussianHead, LikelihoodHead

LIKELIHOODS: dict[str, type[LikelihoodHead]] = {
    "bernoulli": BernoulliHead,
    "gaussian": GaussianHead,
    "discretized_logistic": DiscretizedLogisticHead,
    "bernoulli_ar": AutoregressiveBernoulliHead,
}
# likelihoods of binary data: grey values give a cross-entropy, not a normalized density
BINARY_LIKELIHOODS = ("bernoulli", "bernoulli_ar")

__all__ = [
    "BINARY_LIKELIHOODS",
    "LIKELIHOODS",
    "AutoregressiveBernoulliHead",
    "BernoulliHead",
    "DiscretizedLogisticHead",
    "GaussianHead",
    "LikelihoodHead",
]
