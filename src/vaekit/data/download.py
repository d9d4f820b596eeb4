"""Download the built-in IDX datasets into the user cache, verified and installed atomically."""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from vaekit.data.locate import IDX_FILES, where_to_put
from vaekit.errors import DataError

logger = logging.getLogger(__name__)

MIRRORS = {
    "mnist": "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
_GZ_FILES = tuple(f"{stem}.gz" for stem in IDX_FILES)
SHA256 = {  # of the canonical .gz files, in IDX_FILES order
    "mnist": dict(
        zip(
            _GZ_FILES,
            (
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        )
    ),
    "fashion-mnist": dict(
        zip(
            _GZ_FILES,
            (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
        )
    ),
}
MAX_DOWNLOAD_BYTES = 64 * 2**20  # the largest file, train-images, is ~26 MiB
_CHUNK_BYTES = 1 << 16


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return " ".join(str(exc).split()) or type(exc).__name__


def _download_to_temp(url: str, dest_dir: Path, timeout: float) -> tuple[Path, str]:
    """Stream url into a temp file in dest_dir (fsynced); return its path and SHA-256."""
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=".download-", suffix=".part")
    tmp_path = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            size = 0
            while chunk := resp.read(_CHUNK_BYTES):
                size += len(chunk)
                if size > MAX_DOWNLOAD_BYTES:
                    raise DataError(f"{url}: larger than {MAX_DOWNLOAD_BYTES} bytes")
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError is an OSError
        tmp_path.unlink(missing_ok=True)
        raise DataError(f"{url}: {_describe(exc)}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return tmp_path, digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fetch_all(files: Mapping[str, str], base: str, dest: Path, timeout: float) -> dict[str, Path]:
    """Download and verify every file into temp files; return {file name: temp path}."""
    temps: dict[str, Path] = {}
    try:
        for file_name, expected in files.items():
            url = base + file_name
            logger.info("downloading %s", url)
            temps[file_name], actual = _download_to_temp(url, dest, timeout)
            if actual != expected.lower():
                raise DataError(f"{url}: SHA-256 {actual} does not match the expected {expected}")
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    return temps


def fetch_dataset(
    name: str,
    dest_dir: str | Path,
    *,
    base_url: str | None = None,
    files: Mapping[str, str] | None = None,
    timeout: float = 15.0,
) -> list[Path]:
    """Download `files` ({file name: SHA-256}) of dataset `name` into dest_dir.

    Each file is fetched from <base>/<file name>, where base is `base_url`, else
    $VAEKIT_MIRROR, else the dataset's canonical mirror.
    Every file is verified before any is installed (temp file in dest_dir, fsync, os.replace),
    so a failure leaves nothing behind. Returns the installed paths. Raises DataError on a
    network failure or checksum mismatch, saying where the files can be put by hand.
    """
    if files is None:
        if name not in SHA256:
            raise DataError(f"no download known for dataset {name!r}; known: {', '.join(SHA256)}")
        files = SHA256[name]
    base = base_url or os.environ.get("VAEKIT_MIRROR") or MIRRORS.get(name)
    if not base:
        raise DataError(f"no mirror known for dataset {name!r}; pass base_url or set VAEKIT_MIRROR")
    base = base if base.endswith("/") else base + "/"
    dest = Path(dest_dir)
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        temps = _fetch_all(files, base, dest, timeout)
    except (OSError, DataError) as exc:
        if created:
            with contextlib.suppress(OSError):
                dest.rmdir()
        reason = exc if isinstance(exc, DataError) else _describe(exc)
        raise DataError(f"{name}: download failed: {reason}; {where_to_put(name)}") from exc
    return _install(temps, dest)


def _install(temps: dict[str, Path], dest: Path) -> list[Path]:
    """os.replace each verified temp file onto its final name; returns the final paths."""
    installed = []
    try:
        for file_name, tmp in temps.items():
            os.replace(tmp, dest / file_name)
            installed.append(dest / file_name)
    except OSError as exc:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise DataError(f"{dest}: cannot install downloaded files ({_describe(exc)})") from exc
    _fsync_dir(dest)
    return installed
