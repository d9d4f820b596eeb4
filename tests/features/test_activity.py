import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

from vaekit import VAE, VAEConfig
from vaekit.features import ACTIVE_UNIT_THRESHOLD, latent_activity, posterior_means


def tiny_vae_with_dead_dim(dead: int) -> VAE:
    """A random VAE whose latent `dead` has q(z_d|x) = N(0, 1) for every x: mean and
    log-variance outputs of the encoder's last layer zeroed."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 8, 8), latent_dim=4, hidden_dims=(16,)))
    last = [m for m in model.encoder.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        for row in (dead, dead + model.latent_dim):  # the mean's and the log-variance's
            last.weight[row] = 0.0
            last.bias[row] = 0.0
    return model.eval()


def test_activity_is_the_variance_of_posterior_means_and_kl_matches_torch():
    model = tiny_vae_with_dead_dim(dead=2)
    x = torch.rand(300, 1, 8, 8)
    activity = latent_activity(model, x, batch_size=64)  # batches must not change the answer
    means = posterior_means(model, x)
    torch.testing.assert_close(activity.activity, means.var(dim=0))
    torch.testing.assert_close(activity.means, means)
    with torch.no_grad():
        q = model.encode(x)
        oracle = kl_divergence(Normal(q.loc, q.std), Normal(0.0, 1.0)).mean(dim=0)
    torch.testing.assert_close(activity.kl_per_dim, oracle, rtol=1e-5, atol=1e-6)


def test_a_dead_dimension_is_inactive_and_ranked_last():
    model = tiny_vae_with_dead_dim(dead=2)
    activity = latent_activity(model, torch.rand(200, 1, 8, 8))
    assert float(activity.activity[2]) == 0.0 and float(activity.kl_per_dim[2]) == 0.0
    assert not bool(activity.active[2])
    assert activity.most_active(4)[-1] == 2 and 2 not in activity.most_active(3)
    live = activity.activity > ACTIVE_UNIT_THRESHOLD
    assert activity.num_active == int(live.sum())
