"""A scikit-learn estimator around vaekit's VAE: `VAETransformer` embeds rows in a latent space.

    from sklearn.pipeline import make_pipeline
    from sklearn.linear_model import LogisticRegression
    from vaekit.sklearn import VAETransformer

    clf = make_pipeline(VAETransformer(latent_dim=20, epochs=10), LogisticRegression())
    clf.fit(X_train, y_train); clf.score(X_test, y_test)

Training goes through vaekit.training.fit (the same loop `vaekit train` runs); this module
only turns arrays into vaekit's DataSplits and back. The fitted model is kept in float64 so
that transform and score_samples give the same value for a row whatever batch it comes in
(scikit-learn's estimator checks compare them to 1e-7).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from vaekit.data import DataSpec, DataSplits, Split
from vaekit.data.standardize import column_stats
from vaekit.models import VAE, VAEConfig
from vaekit.sampling import prior_draws
from vaekit.training import TrainConfig, fit

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # older releases: the estimator's own method

    def validate_data(estimator, X, *, reset=True, **kwargs):  # noqa: N803 (sklearn's name)
        return estimator._validate_data(X, reset=reset, **kwargs)


# the likelihood whose inputs are standardized column by column (any real values); the
# others read X as it is and need values in [0, 1]
STANDARDIZED_LIKELIHOOD = "gaussian"
ROWS_PER_PASS = 4096  # rows per encoder/decoder call in transform and inverse_transform
MAX_SEED = 2**31 - 1


class VAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """A VAE (Kingma & Welling 2013) as a scikit-learn transformer: X (n, d) -> posterior
    means (n, latent_dim).

    Parameters
    ----------
    latent_dim, hidden_dims, likelihood, prior: the VAE (an MLP encoder and a mirrored
        decoder); likelihood is a vaekit likelihood name. "gaussian" (the default)
        standardizes each column with the training rows' mean and standard deviation
        (`mean_`, `scale_`) and learns one variance per column; the others ("bernoulli",
        ...) take X as it is, which must lie in [0, 1].
    epochs, batch_size, lr, beta: training by vaekit's fit() (Adam, the ELBO with KL weight
        beta).
    iw_samples: K, the importance samples per row of `score_samples`.
    device: the torch device to train and run on ("cpu", "cuda", ...).
    random_state: None, an int or a numpy RandomState; it fixes the initial weights, the
        batch order and the sampling noise of training.
    """

    def __init__(
        self,
        latent_dim: int = 20,
        epochs: int = 10,
        hidden_dims: tuple[int, ...] = (400,),
        likelihood: str = "gaussian",
        prior: str = "standard_normal",
        batch_size: int = 128,
        lr: float = 1e-3,
        beta: float = 1.0,
        iw_samples: int = 100,
        device: str = "cpu",
        random_state: Any = None,
    ) -> None:
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.hidden_dims = hidden_dims
        self.likelihood = likelihood
        self.prior = prior
        self.batch_size = batch_size
        self.lr = lr
        self.beta = beta
        self.iw_samples = iw_samples
        self.device = device
        self.random_state = random_state

    # ----- fitting -------------------------------------------------------------------------

    def fit(self, X: Any, y: Any = None) -> VAETransformer:  # noqa: N803 (sklearn's name)
        """Train on the rows of X (n, d); y is ignored. Returns self."""
        X = validate_data(self, X, dtype=np.float64)
        self._set_scaling(X)
        x = self._to_model_units(X, "cpu").float()  # fit() moves each batch to the model
        seed = int(check_random_state(self.random_state).randint(MAX_SEED))
        config = VAEConfig(
            input_shape=(X.shape[1],),
            latent_dim=self.latent_dim,
            hidden_dims=tuple(self.hidden_dims),
            likelihood=self.likelihood,
            prior=self.prior,
        )
        train_config = TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, beta=self.beta, seed=seed
        )
        with torch.random.fork_rng(devices=[]):  # the weights depend on the seed alone
            torch.manual_seed(seed)
            model = VAE(config).to(self.device)
            state = fit(model, self._splits(x), train_config)
        self.model_ = model.double().eval().requires_grad_(False)
        self.history_ = state.history
        self.seed_ = seed
        self._n_features_out = self.latent_dim
        return self

    def _set_scaling(self, X: np.ndarray) -> None:
        """mean_ and scale_ (d,): the standardization of a Gaussian likelihood, else 0 and 1."""
        if self.likelihood == STANDARDIZED_LIKELIHOOD:
            self.mean_, self.scale_ = column_stats(X, source="X")
            return
        if X.min() < 0 or X.max() > 1:
            raise ValueError(
                f"likelihood {self.likelihood!r} needs X in [0, 1], got values in "
                f"[{X.min():g}, {X.max():g}]; use likelihood='gaussian' for other data"
            )
        self.mean_, self.scale_ = np.zeros(X.shape[1]), np.ones(X.shape[1])

    def _splits(self, x: torch.Tensor) -> DataSplits:
        """All rows for training; no validation split (the caller holds its own)."""
        standardized = self.likelihood == STANDARDIZED_LIKELIHOOD
        spec = DataSpec(
            shape=(x.shape[1],),
            kind="table",
            binarize="none",
            levels=None,
            source="array given to VAETransformer.fit",
            scaling="standardized per column" if standardized else "as given, in [0, 1]",
            feature_mean=tuple(map(float, self.mean_)) if standardized else None,
            feature_std=tuple(map(float, self.scale_)) if standardized else None,
        )
        empty = Split(x[:0])
        return DataSplits(train=Split(x), val=empty, test=empty, spec=spec)

    # ----- the fitted model ----------------------------------------------------------------

    def _to_model_units(self, X: np.ndarray, device: torch.device | str) -> torch.Tensor:
        """X (n, d) in the user's units -> float64 tensor the model reads, on `device`."""
        scaled = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return torch.tensor(scaled, dtype=torch.float64, device=device)

    def _to_user_units(self, x: torch.Tensor) -> np.ndarray:
        return x.detach().cpu().numpy() * self.scale_ + self.mean_

    @property
    def _device(self) -> torch.device:
        return next(self.model_.parameters()).device

    def _checked(self, X: Any) -> torch.Tensor:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._to_model_units(X, self._device)

    @torch.no_grad()
    def transform(self, X: Any) -> np.ndarray:  # noqa: N803
        """Posterior means E[z | x]: X (n, d) -> (n, latent_dim) float64."""
        x = self._checked(X)
        means = [self.model_.encode(part).mean for part in x.split(ROWS_PER_PASS)]
        return torch.cat(means).cpu().numpy() if means else np.zeros((0, self.latent_dim))

    @torch.no_grad()
    def inverse_transform(self, X: Any) -> np.ndarray:  # noqa: N803
        """Decoder means E[x | z] for latents X (n, latent_dim), in the units of the data
        fitted: (n, d) float64."""
        check_is_fitted(self, "model_")
        z = check_array(X, dtype=np.float64)
        if z.shape[1] != self.latent_dim:
            raise ValueError(f"expected latents with {self.latent_dim} columns, got {z.shape[1]}")
        z = torch.tensor(z, dtype=torch.float64, device=self._device)
        means = [self.model_.decode(part).mean for part in z.split(ROWS_PER_PASS)]
        return self._to_user_units(torch.cat(means))

    @torch.no_grad()
    def score_samples(self, X: Any) -> np.ndarray:  # noqa: N803
        """Importance-weighted log-likelihood of each row, K = iw_samples: (n,) float64 nats.

        A lower bound on log p(x) (Burda et al. 2015) that tightens as K grows, as a density
        of X in its own units: for the Gaussian likelihood the standardization's Jacobian,
        -sum(log scale_), is included. Each row is scored with the same seeded draws
        whatever else X holds, so a row's score does not depend on its batch.
        """
        x = self._checked(X)
        jacobian = -float(np.log(self.scale_).sum())
        scores = np.empty(x.shape[0])
        for row in range(x.shape[0]):
            generator = torch.Generator(device=x.device).manual_seed(self.seed_)
            bound = self.model_.log_likelihood(
                x[row : row + 1], self.iw_samples, generator=generator
            )
            scores[row] = float(bound) + jacobian
        return scores

    def score(self, X: Any, y: Any = None) -> float:  # noqa: N803
        """Mean of score_samples: average log-likelihood bound per row, in nats."""
        return float(np.mean(self.score_samples(X)))

    @torch.no_grad()
    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """n_samples rows x ~ p(x | z), z ~ p(z), in the units of the data fitted: (n, d)."""
        check_is_fitted(self, "model_")
        seed = int(check_random_state(random_state).randint(MAX_SEED))
        generator = torch.Generator(device=self._device).manual_seed(seed)
        return self._to_user_units(prior_draws(self.model_, n_samples, generator=generator))
