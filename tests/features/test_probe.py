"""The linear probe against a direct scikit-learn computation."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from vaekit.errors import ConfigError, DataError
from vaekit.features import draw_per_class, linear_probe


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return x[:600], y[:600], x[1200:], y[1200:]


def direct_accuracy(train, y_train, test, y_test):
    scaler = StandardScaler().fit(train)
    classifier = LogisticRegression(max_iter=1000, random_state=0)
    classifier.fit(scaler.transform(train), y_train)
    return np.mean(classifier.predict(scaler.transform(test)) == y_test)


def test_probe_matches_sklearn_by_hand(digits):
    x_train, y_train, x_test, y_test = digits
    rows = linear_probe({"pixels": (x_train, x_test)}, y_train, y_test, [5, None], num_draws=3)
    expected = [
        direct_accuracy(x_train[i], y_train[i], x_test, y_test)
        for i in (draw_per_class(y_train, 5, np.random.RandomState(d)) for d in range(3))
    ]
    assert rows[0].labels_per_class == 5 and rows[0].num_draws == 3
    assert rows[0].accuracy_mean == pytest.approx(np.mean(expected))
    assert rows[0].accuracy_std == pytest.approx(np.std(expected))
    assert rows[1].to_dict()["labels_per_class"] == "all" and rows[1].accuracy_std == 0
    assert rows[1].accuracy_mean == pytest.approx(direct_accuracy(x_train, y_train, x_test, y_test))
    assert rows[1].accuracy_mean > rows[0].accuracy_mean > 0.5  # more labels help; far above 10%


def test_draws_take_k_of_each_class_without_repeats(digits):
    _, y_train, _, _ = digits
    index = draw_per_class(y_train, 7, np.random.RandomState(0))
    assert len(set(index)) == 70
    assert np.bincount(y_train[index]).tolist() == [7] * 10


def test_too_few_examples_of_a_class_is_a_data_error(digits):
    x_train, y_train, x_test, y_test = digits
    with pytest.raises(DataError, match="fewer than labels_per_class 500"):
        linear_probe({"p": (x_train, x_test)}, y_train, y_test, [10, 500])
    with pytest.raises(ConfigError):
        linear_probe({"p": (x_train, x_test)}, y_train, y_test, [0])
