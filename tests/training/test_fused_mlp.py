"""The hand-written MLP VAE gradient equals autograd's gradient of the same loss."""

import pytest
import torch

from vaekit.models import VAE, VAEConfig
from vaekit.models.fused_mlp import FusedMLPVAE, fused_mlp_supported


def build(hidden_dims, input_shape=(1, 28, 28), latent_dim=20, **overrides):
    torch.manual_seed(0)
    config = VAEConfig(
        input_shape=input_shape, latent_dim=latent_dim, hidden_dims=hidden_dims, **overrides
    )
    return VAE(config)


def autograd_loss(model, x, beta, generator):
    terms = model.training_terms(x, generator=generator)
    reconstruction, kl = -terms.log_px_given_z.mean(), terms.kl.mean()
    return reconstruction + beta * kl, reconstruction, kl


@pytest.mark.parametrize(
    "hidden_dims,input_shape,beta,binary",
    [((400,), (1, 28, 28), 1.0, True), ((64, 32), (13,), 0.3, False), ((), (2, 3, 4), 2.0, True)],
)
def test_loss_and_gradients_match_autograd(hidden_dims, input_shape, beta, binary):
    model = build(hidden_dims, input_shape, latent_dim=5 if not hidden_dims else 20)
    x = torch.rand(37, *input_shape, generator=torch.Generator().manual_seed(1))
    if binary:
        x = (x < 0.3).float()
    fast = FusedMLPVAE(model)
    loss, reconstruction, kl = fast.loss_and_grads(
        x, beta, generator=torch.Generator().manual_seed(2)
    )
    fast_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    expected = autograd_loss(model, x, beta, torch.Generator().manual_seed(2))
    expected[0].backward()
    for ours, theirs in zip((loss, reconstruction, kl), expected):
        assert torch.allclose(ours, theirs.detach(), rtol=1e-5), (ours, theirs)
    for (name, param), grad in zip(model.named_parameters(), fast_grads):
        assert grad.shape == param.shape
        assert torch.allclose(grad, param.grad, rtol=1e-4, atol=1e-6), name


def test_reconstruction_is_exact_for_saturated_logits():
    # decoder biases of +-40 and 0 push sigmoid to 1, 0 and 1/2: the loss's softplus
    # identity must still match the general path's binary cross-entropy with logits
    model = build((16,), (1, 6, 6), latent_dim=3)
    last = model.decoder.mlp.layers[-1]
    with torch.no_grad():
        last.weight.mul_(0.01)
        last.bias.copy_(torch.tensor([40.0, -40.0, 0.0]).repeat(12))
    x = (torch.rand(11, 1, 6, 6, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    _, reconstruction, _ = FusedMLPVAE(model).loss_and_grads(
        x, 1.0, generator=torch.Generator().manual_seed(2)
    )
    with torch.no_grad():
        expected = autograd_loss(model, x, 1.0, torch.Generator().manual_seed(2))[1]
    assert expected > 100  # the saturated pixels dominate: about 40 nats per wrong one
    assert torch.allclose(reconstruction, expected, rtol=1e-6)


def test_only_the_supported_family_takes_the_fast_path():
    assert fused_mlp_supported(build((8,), (4,), latent_dim=2))
    assert not fused_mlp_supported(build((8,), (4,), latent_dim=2, activation="tanh"))
    assert not fused_mlp_supported(build((8,), (4,), latent_dim=2, likelihood="gaussian"))
    conv = build((8,), (1, 8, 8), latent_dim=2, arch="conv", conv_channels=(4,))
    assert not fused_mlp_supported(conv)
    with pytest.raises(ValueError):
        FusedMLPVAE(conv)


@pytest.mark.parametrize("hidden_dims", [(400,), (32, 16), ()])
def test_importance_weights_match_the_general_path(hidden_dims):
    from vaekit.objectives import log_importance_weights

    model = build(hidden_dims, (1, 28, 28), latent_dim=6).eval()
    x = (torch.rand(9, 1, 28, 28, generator=torch.Generator().manual_seed(3)) < 0.4).float()
    fast = FusedMLPVAE(model).log_importance_weights(
        x, 7, generator=torch.Generator().manual_seed(4)
    )
    with torch.no_grad():
        general = log_importance_weights(
            x, model.encode(x), model.prior(), model.decode, 7,
            generator=torch.Generator().manual_seed(4),
        )  # fmt: skip
    assert fast.shape == (7, 9)
    assert torch.allclose(fast, general, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("hidden_dims", [(400,), (32, 16), ()])
def test_chunked_bound_with_reused_buffers_matches_the_general_path(hidden_dims):
    # K = 11 in chunks of 4 gives chunks of 4, 4 and 3 rows per example: the decoder's
    # buffers are reused for equal chunks and replaced when the shape changes
    from vaekit.objectives import iwae_bound

    model = build(hidden_dims, (1, 28, 28), latent_dim=6).eval()
    x = (torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(3)) < 0.4).float()
    fast = model.log_likelihood(x, 11, chunk_size=4, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        general = iwae_bound(
            x, model.encode(x), model.prior(), model.decode, 11, chunk_size=4,
            generator=torch.Generator().manual_seed(4),
        )  # fmt: skip
    assert fast.shape == (5,)
    assert torch.allclose(fast, general, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("width", [784, 64, 63, 130, 1])
def test_softplus_row_sums_match_softplus_in_float64(width):
    from vaekit.models.fused_mlp import _softplus_row_sums

    generator = torch.Generator().manual_seed(5)
    logits = torch.randn(33, width, generator=generator) * 12
    logits[0] = 90.0  # every sigmoid(|l|) rounds to 1: softplus is l itself
    logits[1] = -90.0  # softplus underflows to ~0
    logits[2] = 0.0  # every sigmoid is 1/2: the product's smallest value
    expected = torch.nn.functional.softplus(logits.double()).sum(1)
    got = _softplus_row_sums(logits.clone(), logits.sum(1))
    assert got.dtype == torch.float32
    assert torch.allclose(got.double(), expected, rtol=1e-6, atol=1e-4 * width**0.5)


def test_a_model_with_hooks_takes_the_autograd_path():
    from vaekit.models.fused_mlp import has_hooks

    model = build((8,), (4,), latent_dim=2)
    assert not has_hooks(model)
    handle = model.decoder.register_forward_hook(lambda module, args, out: out)
    assert has_hooks(model)
    handle.remove()
    assert not has_hooks(model)


def test_bf16_products_give_the_fp32_loss_and_gradients_to_bf16_rounding():
    model = build((400,))
    x = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    results = {}
    for dtype in (torch.float32, torch.bfloat16):
        fast = FusedMLPVAE(model, compute_dtype=dtype)
        loss, _, kl = fast.loss_and_grads(x, 1.0, generator=torch.Generator().manual_seed(2))
        grads = [p.grad.clone() for p in model.parameters()]
        assert all(g.dtype == torch.float32 for g in grads)  # what Adam updates stays fp32
        assert all(p.dtype == torch.float32 for p in model.parameters())
        results[dtype] = (loss, kl, grads)
    (loss32, kl32, grads32), (loss16, kl16, grads16) = results.values()
    # 8 mantissa bits: about 0.4% per product; the sums over hundreds of pixels average it
    assert abs(loss16 - loss32) < 1e-3 * abs(loss32), (loss16, loss32)
    assert abs(kl16 - kl32) < 1e-2 * abs(kl32), (kl16, kl32)
    for (name, _), ours, theirs in zip(model.named_parameters(), grads16, grads32):
        relative = float((ours - theirs).norm() / theirs.norm())
        assert relative < 0.05, (name, relative)
        assert relative > 0, name  # the products really ran in bf16


def test_the_fused_path_computes_in_float32_or_bfloat16_only():
    with pytest.raises(ValueError, match="float16"):
        FusedMLPVAE(build((8,), (4,), latent_dim=2), compute_dtype=torch.float16)
