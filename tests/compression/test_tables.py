import math

import numpy as np

from vaekit.compression.coding_models import (
    bucket_centres,
    bucket_edges,
    logistic_level_probabilities,
    logistic_mode,
    posterior_bucket_probabilities,
)
from vaekit.compression.tables import exp_table, normal_cdf_table, sigmoid_table


def test_tables_match_the_functions_they_stand_for():
    t = np.linspace(-8, 8, 2001)
    phi = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in t])
    assert np.abs(normal_cdf_table()(t) - phi).max() < 1e-5
    assert np.abs(sigmoid_table()(t) - 1 / (1 + np.exp(-t))).max() < 2e-5
    assert np.abs(exp_table()(t) / np.exp(t) - 1).max() < 5e-5


def test_buckets_have_equal_prior_mass():
    edges = bucket_edges(6)
    mass = np.diff(np.concatenate([[0.0], normal_cdf_table()(edges), [1.0]]))
    assert edges.shape == (63,) and np.abs(mass - 1 / 64).max() < 1e-9
    centres = bucket_centres(6)
    assert np.all(centres[1:] > centres[:-1]) and centres[32] > 0 > centres[31]


def test_posterior_and_level_rows_are_distributions():
    rows = posterior_bucket_probabilities(np.array([0.0, 1.5]), np.array([-4.0, 0.0]), 8)
    assert rows.shape == (2, 256) and np.allclose(rows.sum(axis=1), 1.0)
    assert rows.min() >= 0 and rows[0].argmax() in (127, 128)
    levels = logistic_level_probabilities(np.array([0.5, -0.2]), np.array([-4.0, -2.0]))
    assert levels.shape == (2, 256) and np.allclose(levels.sum(axis=1), 1.0)
    assert levels[0].argmax() in (127, 128) and levels[1].argmax() == 0


def test_logistic_mode_shortcut_agrees_with_the_full_argmax():
    rng = np.random.default_rng(0)
    loc, log_scale = rng.uniform(-0.3, 1.3, 5000), rng.uniform(-7, 1, 5000)
    full = logistic_level_probabilities(loc, log_scale).argmax(axis=1)
    assert np.array_equal(logistic_mode(loc, log_scale), full)
