"""Anomaly scores: their parts against closed forms, and their ordering on a trained model."""

import math
import zlib

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from vaekit import VAE, DataConfig, TrainConfig, VAEConfig, fit, load_data
from vaekit.features import anomaly_scores, binary_entropy_nats, compressed_nats, score_rule


def test_binary_entropy_is_zero_for_bits_and_ln2_per_half_pixel():
    bits = torch.tensor([[0.0, 1.0, 1.0], [0.5, 0.5, 0.0]])
    assert binary_entropy_nats(bits).tolist() == pytest.approx([0.0, 2 * math.log(2)])


def test_compressed_nats_is_the_zlib_length_of_the_bytes():
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    row = np.round(x[1].numpy().reshape(-1) * 255).astype(np.uint8).tobytes()
    expected = len(zlib.compress(row, 9)) * 8 * math.log(2)
    assert compressed_nats(x)[1].item() == pytest.approx(expected)
    assert compressed_nats(torch.zeros(1, 1, 8, 8)).item() < compressed_nats(x)[0].item()


def seeded() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.fixture(scope="module")
def digits_model():
    data = load_data(DataConfig(source="digits"))
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=data.spec.shape, latent_dim=8, hidden_dims=(64,)))
    fit(model, data, TrainConfig(epochs=6, batch_size=64, lr=5e-3, seed=0))
    return model.eval(), data


def test_noise_scores_above_held_out_digits(digits_model):
    model, data = digits_model
    generator = torch.Generator().manual_seed(1)
    noise = torch.rand(100, *data.spec.shape, generator=generator)
    held_out = anomaly_scores(model, data.test.x, kind="image", num_samples=5)
    outliers = anomaly_scores(model, noise, kind="image", num_samples=5)
    assert held_out.rule == score_rule(model, "image") == "bernoulli_excess"
    truth = np.r_[np.zeros(len(data.test.x)), np.ones(100)]
    assert roc_auc_score(truth, np.r_[held_out.score, outliers.score]) > 0.95
    # the score is the NLL of grey targets less their binarization entropy
    expected = held_out.nll_nats - binary_entropy_nats(data.test.x)
    assert torch.allclose(held_out.score, expected)
    assert (held_out.nll_nats >= -held_out.elbo_nats.mean() - 10).all()


def test_binarized_inputs_are_scored_on_their_grey_values(digits_model):
    model, data = digits_model
    bits = (data.test.x[:50] > 0.5).float()
    plain = anomaly_scores(model, bits, kind="image", num_samples=3, generator=seeded())
    greyed = anomaly_scores(
        model, bits, kind="image", grey=data.test.x[:50], num_samples=3, generator=seeded()
    )
    assert torch.equal(plain.score, plain.nll_nats)  # bits: no binarization entropy
    assert not torch.allclose(greyed.score, plain.score)
    assert torch.equal(greyed.nll_nats, plain.nll_nats)  # the NLL stays that of the inputs
