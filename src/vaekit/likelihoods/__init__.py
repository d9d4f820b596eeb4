"""Likelihood heads p(x|z) and their registry."""

from vaekit.likelihoods.discretized_logistic import DiscretizedLogisticHead
from vaekit.likelihoods.heads import BernoulliHead, GaussianHead, LikelihoodHead

LIKELIHOODS: dict[str, type[LikelihoodHead]] = {
    "bernoulli": BernoulliHead,
    "gaussian": GaussianHead,
    "discretized_logistic": DiscretizedLogisticHead,
}

__all__ = [
    "LIKELIHOODS",
    "BernoulliHead",
    "DiscretizedLogisticHead",
    "GaussianHead",
    "LikelihoodHead",
]
