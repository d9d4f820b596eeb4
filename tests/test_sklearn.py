"""vaekit.sklearn.VAETransformer: scikit-learn's estimator checks, a pipeline on digits,
pickling, and the units of what it returns."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.single_thread import one_thread  # noqa: F401  (autouse fixture)
from vaekit.sklearn import VAETransformer


def tiny(**params) -> VAETransformer:
    """Sizes that keep each of the ~50 estimator checks' fits to milliseconds."""
    return VAETransformer(**{"latent_dim": 2, "epochs": 1, "hidden_dims": (8,),
                             "iw_samples": 4, **params})  # fmt: skip


# every check scikit-learn runs on a transformer passes, so no expected_failed_checks are
# declared (check_array_api_input skips itself unless SCIPY_ARRAY_API is set)
@parametrize_with_checks([tiny()])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module", autouse=True)
def one_thread_for_module_fixtures():
    """one_thread is per test; the module-scoped fits below run before it applies."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return train_test_split(x, y, test_size=0.25, random_state=0)


SMALL = {"latent_dim": 8, "epochs": 20, "batch_size": 32, "hidden_dims": (64,), "random_state": 0}


@pytest.fixture(scope="module")
def fitted(digits):
    x_train, *_ = digits
    return VAETransformer(**SMALL).fit(x_train)


def test_a_pipeline_on_digits_classifies_far_above_chance(digits):
    x_train, x_test, y_train, y_test = digits
    clf = make_pipeline(
        VAETransformer(latent_dim=20, epochs=10, random_state=0), LogisticRegression(max_iter=2000)
    )
    clf.fit(x_train, y_train)
    # ten classes: chance is 0.1; measured 0.933 with these settings (default network: 400)
    assert clf.score(x_test, y_test) > 0.85


def test_a_pickled_pipeline_transforms_and_scores_identically(digits, fitted):
    _, x_test, *_ = digits
    restored = pickle.loads(pickle.dumps(make_pipeline(fitted)))[0]
    assert np.array_equal(restored.transform(x_test), fitted.transform(x_test))
    assert np.array_equal(restored.score_samples(x_test[:5]), fitted.score_samples(x_test[:5]))


def test_transform_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        VAETransformer().transform(np.zeros((2, 3)))


def test_it_trains_through_vaekit_fit_for_the_epochs_asked(fitted):
    assert [row["epoch"] for row in fitted.history_] == list(range(1, 21))
    assert fitted.model_.config.likelihood == "gaussian"


def test_outputs_are_in_the_units_of_x(digits, fitted):
    """Rescaling X leaves the standardized inputs, and so the model, unchanged: transform is
    the same, inverse_transform and samples scale with X, and every log-density drops by the
    Jacobian log(10) nats per column (the constant columns, standardized by a scale of 1,
    stay as they are)."""
    x_train, x_test, *_ = digits
    varying = x_train.std(axis=0) > 0
    scaled = VAETransformer(**SMALL).fit(10 * x_train)
    z = fitted.transform(x_test)
    assert z.shape == (len(x_test), 8)
    np.testing.assert_allclose(scaled.transform(10 * x_test), z, atol=1e-6)
    back = fitted.inverse_transform(z)
    np.testing.assert_allclose(
        scaled.inverse_transform(z)[:, varying], 10 * back[:, varying], rtol=1e-6, atol=1e-6
    )
    # the decoder means reconstruct the pixels far better than the column means do
    column_means = np.mean((x_test - x_train.mean(0)) ** 2)
    assert np.mean((back - x_test) ** 2) < 0.5 * column_means
    jacobian = varying.sum() * np.log(10)
    np.testing.assert_allclose(
        scaled.score_samples(10 * x_test[:5]), fitted.score_samples(x_test[:5]) - jacobian
    )
    draws = fitted.sample(3, random_state=1)
    assert draws.shape == (3, 64)
    np.testing.assert_allclose(
        scaled.sample(3, random_state=1)[:, varying], 10 * draws[:, varying], rtol=1e-5, atol=1e-4
    )


def test_score_is_the_mean_row_score_and_rises_with_importance_samples(digits, fitted):
    _, x_test, *_ = digits
    rows = fitted.score_samples(x_test[:50])
    assert fitted.score(x_test[:50]) == pytest.approx(rows.mean())
    tighter = pickle.loads(pickle.dumps(fitted)).set_params(iw_samples=400)
    assert tighter.score(x_test[:50]) > rows.mean()  # the bound tightens as K grows


def test_a_bernoulli_likelihood_needs_values_in_the_unit_interval(digits):
    x_train, *_ = digits
    with pytest.raises(ValueError, match=r"likelihood 'bernoulli' needs X in \[0, 1\]"):
        tiny(likelihood="bernoulli").fit(x_train)
    model = tiny(likelihood="bernoulli", random_state=0).fit(x_train / 16)
    assert model.transform(x_train[:4] / 16).shape == (4, 2)
    assert np.isin(model.sample(5, random_state=0), (0.0, 1.0)).all()


@pytest.mark.parametrize("prior", ["mog", "vamp"])
def test_a_learned_prior_fits_scores_and_samples(digits, prior):
    x_train, x_test, *_ = digits
    model = tiny(prior=prior, random_state=0).fit(x_train[:200])
    assert np.isfinite(model.score_samples(x_test[:5])).all()
    assert model.sample(3, random_state=0).shape == (3, 64)
