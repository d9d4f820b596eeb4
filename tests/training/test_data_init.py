"""Data-dependent initialisation: the decoder starts at the training data's mean."""

import torch

from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.models import VAE, HierarchicalVAE, HVAEConfig, VAEConfig
from vaekit.models.data_init import init_output_bias
from vaekit.training import TrainConfig, fit
from vaekit.training.loop import DATA_INIT_ROWS


def zero_last_layer_weights(decoder) -> None:
    with torch.no_grad():
        decoder.mlp.layers[-1].weight.zero_()


def test_bernoulli_decoder_starts_at_the_mean_image(digits):
    model = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,)))
    mean = digits.train.x.mean(dim=0)
    assert init_output_bias(model, mean)
    zero_last_layer_weights(model.decoder)  # the output is the bias alone
    decoded = model.decode(torch.randn(3, 4)).mean
    # pixels never on in the data are clamped to probability 1e-3, not logit -inf
    expected = mean.clamp(1e-3, 1 - 1e-3).expand(3, *mean.shape)
    torch.testing.assert_close(decoded, expected, rtol=0, atol=1e-6)


def test_gaussian_decoder_starts_at_the_mean_and_hierarchical_models_take_it_too(digits):
    mean = torch.rand(digits.spec.shape)
    gaussian = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,),
                             likelihood="gaussian"))  # fmt: skip
    assert init_output_bias(gaussian, mean)
    zero_last_layer_weights(gaussian.decoder)
    torch.testing.assert_close(gaussian.decode(torch.randn(2, 4)).mean[0], mean)
    hierarchical = HierarchicalVAE(HVAEConfig(input_shape=digits.spec.shape, latent_dim=4,
                                              hidden_dims=(32,), state_dim=16))  # fmt: skip
    assert init_output_bias(hierarchical, mean)
    assert torch.equal(
        hierarchical.decoder.output_bias, torch.logit(mean.clamp(1e-3, 1 - 1e-3)).flatten()
    )


def test_models_without_an_output_bias_per_dimension_are_left_alone(digits):
    conv = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, arch="conv",
                         conv_channels=(4, 8)))  # fmt: skip
    before = {k: v.clone() for k, v in conv.state_dict().items()}
    assert not init_output_bias(conv, digits.train.x.mean(dim=0))
    assert all(torch.equal(before[k], v) for k, v in conv.state_dict().items())
    logistic = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,),
                             likelihood="discretized_logistic"))  # fmt: skip
    assert not init_output_bias(logistic, digits.train.x.mean(dim=0))


def test_fit_with_data_init_starts_the_model_and_its_weight_average_at_the_mean(digits):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,)))
    # a learning rate too small to move the bias: what is left is the initialisation
    config = TrainConfig(epochs=1, batch_size=256, lr=1e-9, ema_decay=0.9, data_init=True)
    state = fit(model, digits, config)
    assert len(digits.train) < DATA_INIT_ROWS  # every training row went into the mean
    expected = torch.logit(digits.train.x.double().mean(0).clamp(1e-3, 1 - 1e-3)).float()
    for trained in (model, state.eval_model):
        torch.testing.assert_close(
            trained.decoder.output_bias, expected.flatten(), atol=1e-5, rtol=0
        )
    # without the flag the bias keeps its random start
    torch.manual_seed(0)
    plain = VAE(VAEConfig(input_shape=digits.spec.shape, latent_dim=4, hidden_dims=(32,)))
    fit(plain, digits, TrainConfig(epochs=1, batch_size=256, lr=1e-9))
    assert (plain.decoder.output_bias - expected.flatten()).abs().max() > 1.0
