"""The trainer's fast path computes the same loss and update as the textbook formulas."""

import pytest
import torch
import torch.nn.functional as F

from vaekit.models import VAE, VAEConfig
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
    assert take_step(state, x, 1.0, (StepTotals(),))
    eps = torch.randn(64, 20, generator=torch.Generator().set_state(noise_state))
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)  # plain, not fused
    textbook_loss(reference, x, eps).backward()
    optimizer.step()
    for (name, ours), theirs in zip(model.named_parameters(), reference.parameters()):
        assert torch.allclose(ours, theirs, atol=atol), name
