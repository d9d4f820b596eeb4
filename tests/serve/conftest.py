"""A tiny digits run and `vaekit serve` on it, started once as a user would (a separate
process on a free port of 127.0.0.1), shared by the explorer's tests."""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

UPLOAD_LIMIT_BYTES = int(0.01 * 2**20)  # --max-upload-mb 0.01


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    from vaekit.cli.main import main

    run_dir = tmp_path_factory.mktemp("explorer") / "digits"
    code = main(["train", "--data", "digits", "--binarize", "dynamic", "--epochs", "3",
                 "--latent-dim", "4", "--hidden-dims", "32", "--lr", "3e-3", "--threads", "1",
                 "--quiet", "--out", str(run_dir)])  # fmt: skip
    assert code == 0
    return run_dir


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server(tiny_run):
    """(base URL, first stdout line) of `vaekit serve` on tiny_run with a 10 KiB upload cap."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vaekit", "serve", str(tiny_run), "--port", str(port),
         "--max-upload-mb", "0.01", "--threads", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/info", timeout=5).read()
            break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"vaekit serve did not start: {process.communicate()}")
            time.sleep(0.2)
    yield url, process.stdout.readline()
    process.terminate()
    process.communicate(timeout=30)


def request(url: str, body: bytes | None = None) -> tuple[int, dict]:
    """(status, JSON answer) of a GET (body None) or POST."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())
