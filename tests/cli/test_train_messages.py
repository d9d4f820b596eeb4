"""What `vaekit train` tells its user: epoch lines, why it stopped, what a resume ignores."""

import logging

from tests.cli.conftest import run_main
from tests.single_thread import one_thread  # noqa: F401

TINY = ("--hidden-dims", "16", "--latent-dim", "2", "--threads", "1")


def test_without_a_terminal_there_is_no_bar_but_every_epoch_line(tmp_path, capsys):
    # capsys's stderr is not a terminal, like a log file or a CI job's output
    code, _, err = run_main(capsys, "train", "--epochs", "2", *TINY, "--out", tmp_path / "r")
    assert code == 0, err
    assert "\r" not in err and "step/s" not in err and "it/s" not in err
    assert "epoch 1: train loss" in err and "epoch 2: train loss" in err


def test_early_stopping_is_announced_with_its_epoch(tmp_path, capsys):
    code, out, err = run_main(capsys, "train", "--epochs", "30", "--early-stopping-patience",
                              "1", "--lr", "0.03", *TINY, "--out", tmp_path / "r")  # fmt: skip
    assert code == 0, err
    line = next(line for line in out.splitlines() if "stopped early" in line)
    epochs = len((tmp_path / "r" / "metrics.csv").read_text().splitlines()) - 1
    assert epochs < 30 and f"after epoch {epochs}" in line


def test_resume_of_a_finished_budget_run_and_a_new_budget(tmp_path, capsys):
    run_dir = tmp_path / "r"
    budget = ("--epochs", "1000", "--time-budget", "0.5")
    code, out, err = run_main(capsys, "train", *budget, *TINY, "--out", run_dir)
    assert code == 0 and "time budget of 0.5 s" in out, err
    rows = (run_dir / "metrics.csv").read_text()
    code, out, err = run_main(capsys, "train", "--resume", "--out", run_dir, "--threads", "1")
    assert code == 0, err
    assert "nothing to do" in out and (run_dir / "metrics.csv").read_text() == rows
    code, out, err = run_main(capsys, "train", "--resume", "--time-budget", "1.5", "--out",
                              run_dir, "--threads", "1")  # fmt: skip
    assert code == 0, err
    longer = (run_dir / "metrics.csv").read_text()
    assert len(longer.splitlines()) > len(rows.splitlines()) and longer.startswith(rows)


def test_resume_names_each_flag_it_ignores(tmp_path, capsys, caplog):
    run_dir = tmp_path / "r"
    code, _, err = run_main(capsys, "train", "--epochs", "1", *TINY, "--out", run_dir)
    assert code == 0, err
    with caplog.at_level(logging.WARNING):
        code, _, err = run_main(
            capsys, "train", "--resume", "--epochs", "2", "--lr", "0.01",
            "--binarize", "dynamic", "--out", run_dir, "--threads", "1",
        )  # fmt: skip
    assert code == 0, err
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(m.startswith("--lr 0.01 is ignored") for m in warned), warned
    assert any(m.startswith("--binarize dynamic is ignored") for m in warned), warned
    assert not any("--epochs" in m.split(" is ignored")[0] for m in warned), warned


def test_preset_with_epochs_says_the_budget_is_dropped(tmp_path, capsys, caplog):
    import json

    with caplog.at_level(logging.WARNING):
        code, _, err = run_main(
            capsys, "train", "--preset", "fast", "--epochs", "1",
            "--train-limit", "256", "--out", tmp_path / "p", "--threads", "1",
        )  # fmt: skip
    assert code == 0, err
    assert any("time budget" in r.getMessage() for r in caplog.records)
    train = json.loads((tmp_path / "p" / "config.json").read_text())["train"]
    assert train["time_budget_seconds"] is None and train["epochs"] == 1
    assert train["lr_warmup_steps"] < 2  # a tenth of the run's 2 steps
