"""Shared fixtures for the data tests: an independent IDX writer and a local HTTP mirror."""

from __future__ import annotations

import functools
import gzip
import http.server
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from vaekit.data.locate import IDX_FILES


def write_idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array, written from the format description, not our reader."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


@pytest.fixture
def write_idx() -> Callable[..., Path]:
    """write_idx(path, array, gz=False) -> path: write array as (optionally gzipped) IDX."""

    def write(path: Path, array: np.ndarray, gz: bool = False) -> Path:
        data = write_idx_bytes(array)
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return write


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point VAEKIT_DATA, XDG_CACHE_HOME and the system folder at empty temp folders."""
    dirs = {name: tmp_path / name for name in ("vaekit_data", "cache", "system")}
    for folder in dirs.values():
        folder.mkdir()
    monkeypatch.setenv("VAEKIT_DATA", str(dirs["vaekit_data"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(dirs["cache"]))
    monkeypatch.delenv("VAEKIT_MIRROR", raising=False)
    monkeypatch.setattr("vaekit.data.locate.SYSTEM_DATA_DIR", dirs["system"])
    return dirs


def _write_tiny_mnist(folder: Path, num_train: int = 30, num_test: int = 12) -> None:
    rng = np.random.RandomState(0)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        IDX_FILES[0]: rng.randint(0, 256, size=(num_train, 28, 28)),
        IDX_FILES[1]: np.arange(num_train) % 10,
        IDX_FILES[2]: rng.randint(0, 256, size=(num_test, 28, 28)),
        IDX_FILES[3]: np.arange(num_test) % 10,
    }
    for stem, array in arrays.items():
        (folder / f"{stem}.gz").write_bytes(gzip.compress(write_idx_bytes(array.astype(np.uint8))))


@pytest.fixture
def make_tiny_mnist() -> Callable[..., None]:
    """make_tiny_mnist(folder, num_train=30, num_test=12): write 4 gzipped IDX files (28x28)."""
    return _write_tiny_mnist


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture
def http_mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, folder): a ThreadingHTTPServer on 127.0.0.1 serving the folder."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
