"""Linear probe: logistic regression on features from k labels per class, test accuracy."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from vaekit.errors import ConfigError, DataError

MAX_ITER = 1000
FeatureSet = tuple[np.ndarray, np.ndarray]  # (train (N, F), test (M, F))


@dataclass(frozen=True)
class ProbeRow:
    """Accuracy of one feature set at one label budget, over the draws.

    labels_per_class: k, or None for every training label ("all", a single fit).
    accuracy_mean, accuracy_std: fraction of test examples classified right (std over the
    draws, population std; 0 for "all").
    """

    features: str
    labels_per_class: int | None
    accuracy_mean: float
    accuracy_std: float
    num_draws: int

    def to_dict(self) -> dict:
        return {
            "features": self.features,
            "labels_per_class": "all" if self.labels_per_class is None else self.labels_per_class,
            "accuracy_mean": self.accuracy_mean,
            "accuracy_std": self.accuracy_std,
        }


def check_labels_per_class(y: np.ndarray, budgets: Sequence[int | None]) -> None:
    """DataError when a class holds fewer training examples than the largest budget k, or
    when there are fewer than two classes. y: (N,) int labels >= 0."""
    classes, counts = np.unique(y, return_counts=True)
    if classes.size < 2:
        raise DataError(f"a linear probe needs at least 2 classes, the labels hold {classes.size}")
    largest = max((k for k in budgets if k is not None), default=None)
    if largest is not None and counts.min() < largest:
        worst = int(classes[np.argmin(counts)])
        raise DataError(
            f"class {worst} has {int(counts.min())} training examples, fewer than "
            f"labels_per_class {largest}"
        )


def draw_per_class(y: np.ndarray, per_class: int, rng: np.random.RandomState) -> np.ndarray:
    """Sorted indices of `per_class` examples of each class of y (N,), drawn without
    replacement by `rng` (classes in increasing order)."""
    chosen = [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in np.unique(y)]
    return np.sort(np.concatenate(chosen))


def probe_accuracy(
    train: np.ndarray, y_train: np.ndarray, test: np.ndarray, y_test: np.ndarray, *, seed: int
) -> float:
    """Test accuracy of standardize + logistic regression (L2, C=1) fitted on (train, y_train).

    train: (N, F), test: (M, F) features; labels (N,), (M,) ints. Returns a fraction.
    """
    # imported here: scikit-learn takes about a second to import, and every command that
    # reaches vaekit.features (train's pictures among them) would pay it at start-up
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    classifier = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=MAX_ITER, random_state=seed)
    )
    classifier.fit(train, y_train)
    return float(np.mean(classifier.predict(test) == y_test))


def linear_probe(
    feature_sets: dict[str, FeatureSet],
    y_train: np.ndarray,
    y_test: np.ndarray,
    labels_per_class: Sequence[int | None],
    *,
    num_draws: int = 5,
    seed: int = 0,
    progress: Callable[[], None] | None = None,
) -> list[ProbeRow]:
    """The probe of every feature set at every label budget.

    feature_sets: name -> (train (N, F), test (M, F)); y_train (N,), y_test (M,) labels.
    labels_per_class: k per class, None for all labels. Draw d of budget k uses
    RandomState(seed + d) and the same examples for every feature set. `progress` is called
    after each fit. Raises DataError when a class has fewer than k training examples.
    """
    if num_draws < 1:
        raise ConfigError(f"num_draws must be >= 1, got {num_draws}")
    if any(k is not None and k < 1 for k in labels_per_class):
        raise ConfigError(f"labels_per_class must be >= 1 or all, got {list(labels_per_class)}")
    check_labels_per_class(y_train, labels_per_class)
    rows = []
    for k in labels_per_class:
        draws = (
            [np.arange(y_train.shape[0])]
            if k is None
            else [
                draw_per_class(y_train, k, np.random.RandomState(seed + d))
                for d in range(num_draws)
            ]
        )
        for name, (train, test) in feature_sets.items():
            accuracies = []
            for index in draws:
                accuracies.append(
                    probe_accuracy(train[index], y_train[index], test, y_test, seed=seed)
                )
                if progress is not None:
                    progress()
            rows.append(
                ProbeRow(name, k, float(np.mean(accuracies)), float(np.std(accuracies)), len(draws))
            )
    return rows


def num_fits(num_sets: int, labels_per_class: Sequence[int | None], num_draws: int) -> int:
    """How many fits linear_probe makes, for a progress bar."""
    return num_sets * sum(1 if k is None else num_draws for k in labels_per_class)
