"""Compression with a VAE: lossless bits-back ANS, lossy latent codes, the .vkz container."""

from vaekit.compression.codec import compress, decompress, model_fingerprint

__all__ = ["compress", "decompress", "model_fingerprint"]
