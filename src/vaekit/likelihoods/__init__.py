"""Likelihood heads p(x|z) and their registry."""

from vaekit.likelihoods.heads import BernoulliHead, GaussianHead, LikelihoodHead

LIKELIHOODS: dict[str, type[LikelihoodHead]] = {
    "bernoulli": BernoulliHead,
    "gaussian": GaussianHead,
}

__all__ = ["LIKELIHOODS", "BernoulliHead", "GaussianHead", "LikelihoodHead"]
