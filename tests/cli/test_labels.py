"""Labels through the command line: semi-supervised M2, the conditional VAE, M1+M2 stacking."""

import json

import numpy as np
import pytest
from PIL import Image

from tests.cli.conftest import assert_one_line_error, run_main
from tests.single_thread import one_thread  # noqa: F401

SMALL = ["--epochs", "1", "--latent-dim", "4", "--hidden-dims", "32", "--batch-size", "64"]
SMALL += ["--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """An M2 with 5 labels per class and a CVAE, each trained for one epoch on digits."""
    import torch

    from vaekit.cli.main import main

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models: a second thread only adds synchronisation
    folder = tmp_path_factory.mktemp("label_runs")
    m2 = ["--model", "m2", "--labels-per-class", "5", "--classifier-hidden-dims", "64"]
    m2 += [*SMALL, "--epochs", "4", "--lr", "3e-3"]  # enough for accuracy well above chance
    assert main(["train", "--out", str(folder / "m2"), *m2]) == 0
    assert main(["train", "--out", str(folder / "cvae"), "--model", "cvae", *SMALL]) == 0
    assert main(["train", "--out", str(folder / "vae"), *SMALL]) == 0
    torch.set_num_threads(threads)
    return folder


def test_m2_trains_with_hidden_labels_and_eval_reports_accuracy(runs, capsys, tmp_path):
    config = json.loads((runs / "m2" / "config.json").read_text())
    assert config["data_config"]["labels_per_class"] == 5
    model = config["model"]["config"]
    # alpha = 0.1 * N_train / N_labelled = 0.1 * 1259 / 50
    assert model["num_classes"] == 10 and model["classifier_weight"] == pytest.approx(2.518)
    code, out, err = run_main(capsys, "eval", runs / "m2", "--json")
    report = json.loads(out)
    assert code == 0 and 0.4 < report["accuracy"] <= 1.0  # chance is 0.1
    code, out, _ = run_main(capsys, "eval", runs / "m2")
    assert "accuracy" in out and "% of labelled examples" in out


@pytest.mark.parametrize("repeats", [1, 3])
def test_the_alpha_line_is_printed(capsys, tmp_path, repeats):
    # copies from --labelled-repeats count once: alpha weighs a batch's mean cross-entropy
    argv = ["train", "--out", tmp_path / "r", "--model", "m2", "--labels-per-class", "2"]
    argv += ["--train-limit", "200", "--classifier-hidden-dims", "8", *SMALL]
    code, out, err = run_main(capsys, *argv, "--labelled-repeats", str(repeats))
    assert code == 0, err
    assert "alpha = 0.1 * 200 / 20 labelled = 1 " in err
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["model"]["config"]["classifier_weight"] == pytest.approx(1.0)
    assert "validation accuracy" in out


def test_sample_with_a_label_and_a_class_interpolation(runs, capsys, tmp_path):
    for name in ("cvae", "m2"):
        code, out, err = run_main(capsys, "sample", runs / name, "--label", "3", "-n", "8",
                                  "--out", tmp_path / f"{name}.npy")  # fmt: skip
        assert code == 0 and "of class 3" in out, err
        assert np.load(tmp_path / f"{name}.npy").shape == (8, 1, 8, 8)
        argv = ["--labels", "3", "7", "--steps", "5", "--rows", "2", "--out", tmp_path / "i.npy"]
        code, out, err = run_main(capsys, "interpolate", runs / name, *argv)
        assert code == 0, err
        grid = np.load(tmp_path / "i.npy")
        assert grid.shape == (10, 1, 8, 8)
        assert not np.allclose(grid[0], grid[4])  # the class changed along the row
    code, out, err = run_main(capsys, "sample", runs / "cvae", "--label", "3", "--out",
                              tmp_path / "bags.png")  # fmt: skip
    assert code == 0 and Image.open(tmp_path / "bags.png").size[0] > 8


def test_commands_that_encode_pass_the_split_labels_to_a_conditional_model(runs, capsys, tmp_path):
    for command, out in [("reconstruct", "r.png"), ("traverse", "t.png"),
                         ("interpolate", "i.png"), ("encode", "l.npz")]:  # fmt: skip
        code, _, err = run_main(capsys, command, runs / "cvae", "--out", tmp_path / out)
        assert code == 0, (command, err)
    code, _, err = run_main(capsys, "eval", runs / "cvae")
    assert code == 0, err


def test_label_errors_are_one_line(runs, capsys, tmp_path):
    code, _, err = run_main(capsys, "sample", runs / "cvae", "--label", "10", "--out",
                            tmp_path / "s.png")  # fmt: skip
    assert_one_line_error(code, err, "label 10 is out of range 0..9")
    code, _, err = run_main(capsys, "sample", runs / "vae", "--label", "1", "--out",
                            tmp_path / "s.png")  # fmt: skip
    assert_one_line_error(code, err, "no classes")
    code, _, err = run_main(capsys, "interpolate", runs / "vae", "--labels", "1", "2", "--out",
                            tmp_path / "i.png")  # fmt: skip
    assert_one_line_error(code, err, "no classes")
    code, _, err = run_main(capsys, "interpolate", runs / "cvae", "--labels", "1", "2", "--pair",
                            "0", "1", "--out", tmp_path / "i.png")  # fmt: skip
    assert_one_line_error(code, err, "--pair", "--labels")
    code, _, err = run_main(capsys, "train", "--out", tmp_path / "x", "--labels-per-class",
                            "500", *SMALL)  # fmt: skip
    assert_one_line_error(code, err, "--labels-per-class=500", "class")
    np.save(tmp_path / "plain.npy", np.random.default_rng(0).random((40, 5)).astype(np.float32))
    code, _, err = run_main(capsys, "train", "--data", tmp_path / "plain.npy", "--out",
                            tmp_path / "y", "--model", "m2", *SMALL)  # fmt: skip
    assert_one_line_error(code, err, "trains on labels and these data have none")
    assert not any(tmp_path.glob("*.png"))


def test_m1_plus_m2_trains_on_latents_and_scores_the_real_test_split(runs, capsys, tmp_path):
    latents = tmp_path / "latents.npz"
    code, out, err = run_main(capsys, "encode", runs / "vae", "--split", "all", "--out", latents)
    assert code == 0 and "split" in out, err
    with np.load(latents) as arrays:
        assert arrays["mean"].shape == (1797, 4)
        assert np.bincount(arrays["split"]).tolist() == [1259, 179, 359]
    argv = ["train", "--data", latents, "--out", tmp_path / "m1m2", "--model", "m2"]
    argv += ["--labels-per-class", "5", "--classifier-hidden-dims", "16", *SMALL]
    code, _, err = run_main(capsys, *argv)
    assert code == 0, err
    code, out, err = run_main(capsys, "eval", tmp_path / "m1m2", "--json")
    report = json.loads(out)
    assert report["num_examples"] == 359 and report["accuracy"] is not None
