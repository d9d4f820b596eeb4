"""`vaekit report` (one self-contained HTML page), `vaekit eval --save`, the end-of-training
pictures, and `vaekit train --tensorboard` read back with TensorBoard's own reader."""

import base64
import csv
import io
import json
import re
import sys

import pytest
from PIL import Image

from tests.cli.conftest import assert_one_line_error, run_main
from tests.single_thread import one_thread  # noqa: F401

EXPECTED_CAPTIONS = (
    "Training curves",
    "Samples from the prior",
    "at temperature 0.7",
    "reconstructions",
    "linear (odd rows) and spherical (even rows)",
    "Traversals of the",
    "Latent use on",
    "PCA and t-SNE of test posterior means, coloured by label",
    "Per-example -ELBO",
)
DATA_URI = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)"')


def test_report_embeds_every_picture_and_the_saved_evaluation(digits_run, tmp_path, capsys):
    code, out, err = run_main(capsys, "eval", digits_run, "--limit", "40", "--iw-samples", "4",
                              "--json", "--save", "--quiet")  # fmt: skip
    assert code == 0, err
    saved = json.loads((digits_run / "eval.json").read_text())
    assert saved == json.loads(out)
    page = tmp_path / "report.html"
    code, out, err = run_main(capsys, "report", digits_run, "-o", page)
    assert code == 0, err
    text = page.read_text()
    images = DATA_URI.findall(text)
    captions = [caption for _, caption in images]
    for needle in EXPECTED_CAPTIONS:
        assert any(needle in caption for caption in captions), (needle, captions)
    for encoded, caption in images:  # every embedded picture is a real, non-blank PNG
        picture = Image.open(io.BytesIO(base64.b64decode(encoded)))
        assert picture.format == "PNG" and picture.convert("L").getextrema()[0] < 200, caption
    # offline: nothing is fetched, not even a font or a stylesheet
    assert re.search(r"https?://", text) is None
    assert "<link" not in text and "<script" not in text
    assert f"{saved['nll_nats']:.5g}" in text  # the saved evaluation's figures
    with open(digits_run / "metrics.csv") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert f"{float(last['val_elbo_nats']):.5g}" in text


def test_report_refuses_a_file_that_is_not_an_evaluation(digits_run, tmp_path, capsys):
    bad = tmp_path / "eval.json"
    bad.write_text('{"elbo": 1}')
    page = tmp_path / "r.html"
    code, _, err = run_main(capsys, "report", digits_run, "--eval", bad, "-o", page)
    assert_one_line_error(code, err, "not a `vaekit eval --json` output")
    assert not page.exists()


def test_training_writes_the_cheap_pictures_and_leaves_the_plots_to_the_report(digits_run):
    for name in ("training_curves.png", "samples.png", "samples_t0.7.png", "interpolations.png",
                 "traversals.png"):  # fmt: skip
        assert (digits_run / name).is_file(), name
    report = (digits_run / "report.md").read_text()  # what training itself wrote
    assert "Traversals of the 8 most active latent dimensions" in report
    assert "t-SNE" not in report and "Latent use" not in report


@pytest.fixture(scope="module")
def tensorboard_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("tb") / "run"
    code = __import__("vaekit.cli.main", fromlist=["main"]).main(
        ["train", "--data", "digits", "--binarize", "dynamic", "--epochs", "2", "--latent-dim",
         "4", "--hidden-dims", "16", "--batch-size", "100", "--train-limit", "400",
         "--tensorboard", "--quiet", "--threads", "1", "--out", str(run_dir)]
    )  # fmt: skip
    assert code == 0
    return run_dir


def test_tensorboard_events_read_back_match_the_run(tensorboard_run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(
        str(tensorboard_run / "tensorboard"), size_guidance={"images": 0, "histograms": 0}
    )
    events.Reload()
    tags = events.Tags()
    with open(tensorboard_run / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    for name in ("val_elbo_nats", "train_loss", "val_kl_nats"):
        logged = [(e.step, e.value) for e in events.Scalars(f"epoch/{name}")]
        expected = [(int(row["epoch"]), float(row[name])) for row in rows]
        assert [s for s, _ in logged] == [s for s, _ in expected]
        assert [v for _, v in logged] == pytest.approx([v for _, v in expected], rel=1e-6)
    steps = [e.step for e in events.Scalars("step/train_loss")]
    assert steps == [int(row["step"]) for row in rows]  # 4 steps an epoch, log_every 50
    samples = events.Images("samples")
    assert [e.step for e in samples] == [1, 2]
    assert Image.open(io.BytesIO(samples[0].encoded_image_string)).size == (82, 82)  # 8x8 grid
    kl = events.Histograms("latent/kl_per_dimension")
    assert [e.step for e in kl] == [1, 2] and all(e.histogram_value.num == 4 for e in kl)
    # the per-dimension KLs of the validation examples sum to the validation KL
    assert kl[-1].histogram_value.sum == pytest.approx(float(rows[-1]["val_kl_nats"]), rel=1e-4)
    assert "epoch/active_units" in tags["scalars"] and "latent/activity" in tags["histograms"]


def test_tensorboard_without_the_package_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if absent
    out = tmp_path / "run"
    code, _, err = run_main(capsys, "train", "--data", "digits", "--epochs", "1",
                            "--tensorboard", "--out", out)  # fmt: skip
    assert_one_line_error(code, err, "pip install 'vaekit[tensorboard]'")
    assert not out.exists()
