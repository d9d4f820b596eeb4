"""Probability distributions as plain tensor maths: one vocabulary, no parameters."""

from vaekit.distributions.autoregressive import AutoregressiveBernoulli
from vaekit.distributions.base import Distribution
from vaekit.distributions.bernoulli import Bernoulli
from vaekit.distributions.gaussian import DiagonalGaussian, standard_normal
from vaekit.distributions.kl import kl, register_kl
from vaekit.distributions.point_mass import PointMass

__all__ = [
    "AutoregressiveBernoulli",
    "Bernoulli",
    "DiagonalGaussian",
    "Distribution",
    "PointMass",
    "kl",
    "register_kl",
    "standard_normal",
]
