"""fetch_dataset against a local HTTP mirror; dataset lookup order; load after install."""

from __future__ import annotations

import hashlib
import socket

import numpy as np
import pytest

from vaekit.data import DataConfig, load_data
from vaekit.data.download import fetch_dataset
from vaekit.data.locate import IDX_FILES, find_dataset_dir, user_cache_dir
from vaekit.errors import DataError

GZ_NAMES = [f"{stem}.gz" for stem in IDX_FILES]


def _hashes(folder):
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in GZ_NAMES}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_good_checksums_install_and_load(isolated_dirs, http_mirror, make_tiny_mnist):
    url, mirror = http_mirror
    make_tiny_mnist(mirror)
    dest = user_cache_dir("mnist")
    installed = fetch_dataset("mnist", dest, base_url=url, files=_hashes(mirror))
    assert sorted(p.name for p in installed) == sorted(GZ_NAMES)
    assert sorted(p.name for p in dest.iterdir()) == sorted(GZ_NAMES)  # no temp files left
    for name in GZ_NAMES:
        assert (dest / name).read_bytes() == (mirror / name).read_bytes()
    assert find_dataset_dir("mnist") == dest
    splits = load_data(DataConfig(source="mnist", val_size=5))
    assert (len(splits.train), len(splits.val), len(splits.test)) == (25, 5, 12)
    np.testing.assert_array_equal(splits.val.y.numpy(), np.arange(25, 30) % 10)


def test_bad_checksum_leaves_nothing(isolated_dirs, http_mirror, make_tiny_mnist):
    url, mirror = http_mirror
    make_tiny_mnist(mirror)
    hashes = _hashes(mirror)
    hashes[GZ_NAMES[-1]] = "0" * 64  # the last file is wrong: the first three must not stay
    dest = isolated_dirs["cache"] / "vaekit" / "mnist"
    with pytest.raises(DataError, match="SHA-256") as info:
        fetch_dataset("mnist", dest, base_url=url, files=hashes)
    assert "\n" not in str(info.value)
    assert not dest.exists() or list(dest.iterdir()) == []


def test_existing_dest_keeps_only_its_own_files(isolated_dirs, http_mirror, make_tiny_mnist):
    url, mirror = http_mirror
    make_tiny_mnist(mirror)
    dest = isolated_dirs["vaekit_data"] / "mnist"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with pytest.raises(DataError):
        fetch_dataset("mnist", dest, base_url=url, files={GZ_NAMES[0]: "f" * 64})
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]


def test_unreachable_server(isolated_dirs):
    dest = isolated_dirs["cache"] / "fm"
    with pytest.raises(DataError, match="download") as info:
        fetch_dataset(
            "fashion-mnist", dest, base_url=f"http://127.0.0.1:{_free_port()}/", timeout=5
        )
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(isolated_dirs["system"] / "fashion-mnist") in message
    assert str(isolated_dirs["cache"] / "vaekit" / "fashion-mnist") in message
    assert str(isolated_dirs["vaekit_data"] / "fashion-mnist") in message
    assert not dest.exists()


def test_missing_file_on_mirror(isolated_dirs, http_mirror):
    url, _ = http_mirror  # empty mirror: every request is a 404
    with pytest.raises(DataError, match="404"):
        fetch_dataset("mnist", isolated_dirs["cache"] / "m", base_url=url, timeout=5)


def test_load_downloads_when_missing_and_checks_canonical_hashes(
    isolated_dirs, http_mirror, monkeypatch, make_tiny_mnist
):
    url, mirror = http_mirror
    make_tiny_mnist(mirror)  # not the real files: the canonical SHA-256 must reject them
    monkeypatch.setenv("VAEKIT_MIRROR", url)
    with pytest.raises(DataError, match="SHA-256"):
        load_data(DataConfig(source="mnist", val_size=5))
    cache = user_cache_dir("mnist")
    assert not cache.exists() or list(cache.iterdir()) == []


def test_lookup_order_prefers_vaekit_data(isolated_dirs, make_tiny_mnist):
    for folder in (isolated_dirs["vaekit_data"], isolated_dirs["cache"] / "vaekit"):
        make_tiny_mnist(folder / "mnist")
    assert find_dataset_dir("mnist") == isolated_dirs["vaekit_data"] / "mnist"
    assert find_dataset_dir("fashion-mnist") is None


def test_raw_idx_files_are_found_and_checked(isolated_dirs, write_idx, make_tiny_mnist):
    folder = isolated_dirs["system"] / "mnist"
    make_tiny_mnist(folder)
    (folder / f"{IDX_FILES[3]}.gz").unlink()
    write_idx(folder / IDX_FILES[3], np.zeros(11, dtype=np.uint8))  # 11 labels, 12 images
    with pytest.raises(DataError, match="do not match"):
        load_data(DataConfig(source="mnist", val_size=5))
