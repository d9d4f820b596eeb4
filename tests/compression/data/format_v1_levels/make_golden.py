"""Writes this folder's golden files: version-1 .vkz files of two 8-bit models, coded before
8-bit levels went down the binary tree (one 256-entry row per pixel).

Run from a checkout of the last commit before that change, 0786e29^:
    PYTHONPATH=src python tests/compression/data/format_v1_levels/make_golden.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from vaekit.compression.codec import compress
from vaekit.models import VAE, VAEConfig

LIKELIHOODS = {"logistic": "discretized_logistic", "mixture": "discretized_logistic_mixture"}

out = Path(sys.argv[1])
images = np.rint(load_digits().images[:12] * (255 / 16)).astype(np.uint8)[:, None]
np.save(out / "images.npy", images)
for name, likelihood in LIKELIHOODS.items():
    torch.manual_seed(3)
    config = VAEConfig(input_shape=(1, 8, 8), latent_dim=2, hidden_dims=(8,), likelihood=likelihood)
    model = VAE(config)
    model.save_pretrained(out / f"model_{name}")
    (out / f"lossless_{name}.vkz").write_bytes(compress(model, images))
