"""Data-dependent initialisation: start the decoder where the average example is.

A freshly initialised decoder outputs about 0 for every dimension (Bernoulli probability 1/2
per pixel, ~543 nats per 28x28 image), and the first few hundred steps go to learning the
average image before the latents are of any use. Setting the output bias so that the decoder's
distribution has the training data's mean at a zero hidden state removes that phase (the
output-bias initialisation of Burda et al. 2015's and Kingma et al. 2016's code).
"""

from __future__ import annotations

import torch

from vaekit.models.base import LatentVariableModel
from vaekit.nn import MLPToShape


def init_output_bias(model: LatentVariableModel, mean: torch.Tensor) -> bool:
    """Set `model`'s decoder output bias so its likelihood has mean `mean` (*input_shape)
    at a zero hidden state. Returns False, changing nothing, for a model whose decoder or
    likelihood has no such bias (convolutional decoders, the autoregressive and logistic
    heads)."""
    decoder = getattr(model, "decoder", None)
    head = getattr(model, "likelihood", None)
    if not isinstance(decoder, MLPToShape) or head is None:
        return False
    features = head.features_for_mean(mean.to(torch.float32))
    if features is None or features.numel() != decoder.output_bias.numel():
        return False
    with torch.no_grad():
        decoder.output_bias.copy_(features.reshape(-1).to(decoder.output_bias))
    return True
