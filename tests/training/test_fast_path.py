"""The trainer's fast path computes the same loss and update as the textbook formulas."""

import pytest
import torch
import torch.nn.functional as F

from vaekit.data import Batch
from vaekit.models import VAE, VAEConfig
from vaekit.models.fused_mlp import fused_mlp_supported
from vaekit.objectives import ELBOTerms, iwae_bound
from vaekit.training import TrainConfig, TrainState
from vaekit.training.step import StepTotals, take_step


def canonical_vae():
    torch.manual_seed(0)
    return VAE(VAEConfig(input_shape=(1, 28, 28), latent_dim=20, hidden_dims=(400,)))


def textbook_loss(model, x, eps):
    """BCE-sum + analytic KL (Kingma & Welling, App. B), per example, written out by hand."""
    h = model.encoder(x)
    mu, logvar = h[:, :20], h[:, 20:]
    z = mu + torch.exp(0.5 * logvar) * eps
    logits = model.decoder(z)
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kld) / x.shape[0]


def test_loss_matches_textbook_formula():
    model = canonical_vae()
    x = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    terms = model.training_terms(x, generator=torch.Generator().manual_seed(2))
    ours = -(terms.log_px_given_z - terms.kl).mean()
    eps = torch.randn(64, 20, generator=torch.Generator().manual_seed(2))
    assert torch.allclose(ours, textbook_loss(model, x, eps), rtol=1e-5)


# Adam's first step is lr * g / (|g| + eps): where a gradient entry is within a few eps of
# zero, float rounding in g (the fused gradient sums in another order) moves that entry's
# step by up to ~1e-5. Gradient values themselves are compared in test_fused_mlp.py.
@pytest.mark.parametrize("fast_path,atol", [(False, 1e-6), (True, 2e-5)])
def test_one_trainer_step_matches_a_plain_adam_step(fast_path, atol):
    model, reference = canonical_vae(), canonical_vae()
    x = (torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    state = TrainState.create(model, TrainConfig(lr=1e-3, seed=0, fast_path=fast_path))
    assert (state.fast_path is not None) == fast_path
    noise_state = state.noise_generator.get_state()
    assert take_step(state, Batch(x), 1.0, (StepTotals(),))
    eps = torch.randn(64, 20, generator=torch.Generator().set_state(noise_state))
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)  # plain, not fused
    textbook_loss(reference, x, eps).backward()
    optimizer.step()
    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters()):
        assert torch.allclose(ours, theirs, atol=atol), name


class DoubledReconstructionVAE(VAE):
    """A subclass that reuses VAEConfig and changes the loss: log p(x|z) counts twice."""

    def training_terms(self, x, *, y=None, generator=None):
        terms = super().training_terms(x, generator=generator)
        return ELBOTerms(2.0 * terms.log_px_given_z, terms.kl)


class SharperDecoderVAE(VAE):
    """A subclass that reuses VAEConfig and changes p(x|z): logits doubled."""

    def decode(self, z, y=None):
        return self.likelihood(2.0 * self.decoder(z))


class DeclaredVAE(VAE):
    """A subclass that changes nothing in the maths and says so."""

    supports_fused_mlp = True


def small_model(cls):
    torch.manual_seed(0)
    return cls(VAEConfig(input_shape=(1, 6, 6), latent_dim=3, hidden_dims=(16,)))


def grads_after_step(model, x):
    """Gradients the trainer's step computed for `model`, and the noise state it used."""
    state = TrainState.create(model, TrainConfig(lr=1e-3, seed=0))
    noise_state = state.noise_generator.get_state()
    assert take_step(state, Batch(x), 1.0, (StepTotals(),))
    return state, [p.grad.clone() for p in model.parameters()], noise_state


def autograd_grads(model, loss_terms, x, noise_state):
    """Autograd's gradients of -(mean log p(x|z) - mean KL) from `loss_terms(model, x, g)`."""
    generator = torch.Generator().set_state(noise_state)
    terms = loss_terms(model, x, generator)
    (-(terms.log_px_given_z.mean() - terms.kl.mean())).backward()
    return [p.grad for p in model.parameters()]


def test_a_subclass_overriding_the_loss_gets_autograd_of_its_own_loss():
    x = (torch.rand(16, 1, 6, 6, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    state, ours, noise_state = grads_after_step(small_model(DoubledReconstructionVAE), x)
    assert state.fast_path is None

    def own_loss(model, x, g):
        return model.training_terms(x, generator=g)

    def parent_elbo(model, x, g):  # what the fused gradient computes
        return VAE.training_terms(model, x, generator=g)

    own = autograd_grads(small_model(DoubledReconstructionVAE), own_loss, x, noise_state)
    elbo = autograd_grads(small_model(DoubledReconstructionVAE), parent_elbo, x, noise_state)
    for ours_grad, own_grad in zip(ours, own):
        assert torch.allclose(ours_grad, own_grad, rtol=1e-5, atol=1e-7)
    assert not all(torch.allclose(a, b, rtol=1e-3) for a, b in zip(ours, elbo))


def test_the_fused_capability_is_declared_per_class_not_inherited():
    assert fused_mlp_supported(small_model(VAE))
    assert not fused_mlp_supported(small_model(DoubledReconstructionVAE))
    assert not fused_mlp_supported(small_model(SharperDecoderVAE))
    assert fused_mlp_supported(small_model(DeclaredVAE))
    config = TrainConfig()
    assert TrainState.create(small_model(DeclaredVAE), config).fast_path is not None
    assert TrainState.create(small_model(SharperDecoderVAE), config).fast_path is None


def test_log_likelihood_of_a_subclass_uses_its_own_decoder():
    model = small_model(SharperDecoderVAE).eval()
    x = (torch.rand(5, 1, 6, 6, generator=torch.Generator().manual_seed(1)) < 0.3).float()
    ours = model.log_likelihood(x, k=20, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        general = iwae_bound(
            x, model.encode(x), model.prior(), model.decode, 20,
            chunk_size=200, generator=torch.Generator().manual_seed(4),
        )  # fmt: skip
    assert torch.allclose(ours, general, rtol=1e-5)
