"""`vaekit probe` and `vaekit score` end to end on digits: outputs and one-line errors."""

import csv
import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from tests.cli.conftest import assert_one_line_error, run_main
from vaekit import VAE, DataConfig, TrainConfig, VAEConfig, fit, load_data

DIGITS_TEST_SIZE = 359  # 20% of 1,797


def test_probe_json_rows(digits_run, capsys):
    code, out, err = run_main(
        capsys, "probe", digits_run, "--labels-per-class", "5", "all", "--draws", "2", "--json"
    )
    assert code == 0, err
    rows = json.loads(out)["rows"]
    # a binarized run adds the grey pixels and the latent means of grey inputs
    names = ("latent means (8)", "raw pixels (64)", "PCA (8)")
    names += ("latent means, grey inputs (8)", "grey pixels (64)")
    assert [(r["features"], r["labels_per_class"]) for r in rows] == [
        (name, k) for k in (5, "all") for name in names
    ]
    assert all(
        set(r) == {"features", "labels_per_class", "accuracy_mean", "accuracy_std"} for r in rows
    )
    assert all(0.5 < r["accuracy_mean"] <= 1 for r in rows)  # ten classes: chance is 0.1
    assert all(r["accuracy_std"] == 0 for r in rows if r["labels_per_class"] == "all")
    by_name = {(r["features"], r["labels_per_class"]): r["accuracy_mean"] for r in rows}
    # grey pixels keep what binarization throws away: on all labels they classify better
    assert by_name[("grey pixels (64)", "all")] > by_name[("raw pixels (64)", "all")]


def test_probe_table_and_too_few_labels(digits_run, capsys):
    code, out, _ = run_main(capsys, "probe", digits_run, "--labels-per-class", "3", "--draws", "1")
    assert code == 0 and "labels/class" in out and "raw pixels (64)" in out
    code, _, err = run_main(capsys, "probe", digits_run, "--labels-per-class", "1000")
    assert_one_line_error(code, err, "fewer than --labels-per-class 1000")


@pytest.fixture(scope="module")
def unlabelled_run(tmp_path_factory):
    """A run trained on a .npy of digit images, which holds no labels."""
    folder = tmp_path_factory.mktemp("unlabelled")
    images = (load_digits().images * 15).astype(np.uint8)
    np.save(folder / "digits.npy", images)
    data = load_data(DataConfig(source=str(folder / "digits.npy")))
    model = VAE(VAEConfig(input_shape=data.spec.shape, latent_dim=4, hidden_dims=(32,)))
    fit(model, data, TrainConfig(epochs=1, batch_size=256))
    model.save_pretrained(str(folder / "run"))
    return folder


def test_probe_refuses_unlabelled_data(unlabelled_run, capsys):
    code, _, err = run_main(capsys, "probe", unlabelled_run / "run")
    assert_one_line_error(code, err, "has no labels")


def read_scores(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], np.array(rows[1:], dtype=float)


def test_score_writes_one_row_per_test_example(digits_run, tmp_path, capsys):
    out = tmp_path / "scores.csv"
    code, stdout, err = run_main(capsys, "score", digits_run, "--out", out, "--iw-samples", "3")
    assert code == 0, err
    header, values = read_scores(out)
    assert header == ["index", "elbo_nats", "nll_nats", "score"]
    assert values.shape == (DIGITS_TEST_SIZE, 4) and np.isfinite(values).all()
    assert values[:, 0].tolist() == list(range(DIGITS_TEST_SIZE))
    assert "bernoulli_excess" in stdout


def test_score_of_new_data_in_any_number(unlabelled_run, tmp_path, capsys):
    noise = np.random.RandomState(0).randint(0, 256, size=(50, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "noise.npy", noise)
    np.save(tmp_path / "digits.npy", np.load(unlabelled_run / "digits.npy")[:200])
    sources = {"digits": tmp_path / "digits.npy", "noise": tmp_path / "noise.npy"}
    for name, source in sources.items():
        code, _, err = run_main(
            capsys, "score", unlabelled_run / "run", "--data", source,
            "--out", tmp_path / f"{name}.csv", "--iw-samples", "2",
        )  # fmt: skip
        assert code == 0, err
    digits_scores = read_scores(tmp_path / "digits.csv")[1]
    noise_scores = read_scores(tmp_path / "noise.csv")[1]
    assert digits_scores.shape == (200, 4) and noise_scores.shape == (50, 4)
    assert np.isfinite(digits_scores).all() and np.isfinite(noise_scores).all()
    # the ranking of noise above digits needs a trained model: tests/features/test_anomaly.py


def test_score_errors_are_one_line(digits_run, tmp_path, capsys):
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((5, 7, 7), dtype=np.uint8))
    out = tmp_path / "s.csv"
    code, _, err = run_main(capsys, "score", digits_run, "--data", wrong, "--out", out)
    assert_one_line_error(code, err, "(1, 7, 7)", "(1, 8, 8)")
    code, _, err = run_main(
        capsys, "score", digits_run, "--data", tmp_path / "no.npy", "--out", out
    )
    assert_one_line_error(code, err, "no such file")
    missing = tmp_path / "absent" / "s.csv"
    code, _, err = run_main(capsys, "score", digits_run, "--out", missing)
    assert_one_line_error(code, err, "does not exist")
    assert not out.exists() and not missing.parent.exists()


def test_posterior_means_refuse_a_conditional_model():
    from vaekit.errors import ConfigError
    from vaekit.features import posterior_means

    class Conditional(VAE):
        is_conditional = True

    model = Conditional(VAEConfig(input_shape=(1, 8, 8), latent_dim=2, hidden_dims=(8,)))
    with pytest.raises(ConfigError, match="needs the label"):
        posterior_means(model, torch.zeros(2, 1, 8, 8))
