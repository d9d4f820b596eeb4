"""Likelihood heads p(x|z) and their registry."""

from vaekit.likelihoods.autoregressive import AutoregressiveBernoulliHead
from vaekit.likelihoods.defaults import default_likelihood, is_eight_bit_images
from vaekit.likelihoods.discretized_logistic import DiscretizedLogisticHead
from vaekit.likelihoods.heads import BernoulliHead, GaussianHead, LikelihoodHead
from vaekit.likelihoods.logistic_mixture import DiscretizedLogisticMixtureHead

LIKELIHOODS: dict[str, type[LikelihoodHead]] = {
    "bernoulli": BernoulliHead,
    "gaussian": GaussianHead,
    "discretized_logistic": DiscretizedLogisticHead,
    # 5 logistics per value (logistic_mixture.NUM_COMPONENTS)
    "discretized_logistic_mixture": DiscretizedLogisticMixtureHead,
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
    "DiscretizedLogisticMixtureHead",
    "GaussianHead",
    "LikelihoodHead",
    "default_likelihood",
    "is_eight_bit_images",
]
