"""Fuzz every loader: on any bytes it returns a valid result or raises a one-line VaekitError.

Never another exception type, never a hang (each call has a time limit), never a huge
allocation (the address space is capped while these tests run, so one shows up as
MemoryError or torch's RuntimeError). Inputs are random bytes, valid small files mutated
(bit flips, overwritten bytes, truncations, insertions) and structured headers with random
fields. test_regression replays inputs that once broke a loader.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import hashlib
import io
import json
import resource
import signal
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from vaekit.data import DataConfig, DataSpec, load_data
from vaekit.data.csvfile import read_csv_table
from vaekit.data.idx import read_idx
from vaekit.data.npfiles import read_npy, read_npz
from vaekit.errors import DataError, VaekitError
from vaekit.models import VAE, LatentVariableModel, VAEConfig, load_model, save_model
from vaekit.training import TrainConfig

T = TypeVar("T")
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CALL_SECONDS = 10
ADDRESS_SPACE_HEADROOM = 3 << 30

# ---- valid small files, written independently of the readers under test ----------------


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npy_header(descr: str, shape: tuple[int, ...], fortran_order: bool, extra: str = "") -> bytes:
    """A version 1.0 .npy header (NEP 1 layout) for any descr and shape, padded to 64 bytes."""
    text = f"{{'descr': {descr!r}, 'fortran_order': {fortran_order}, 'shape': {shape!r}, {extra}}}"
    padding = -(10 + len(text) + 1) % 64
    text = text + " " * padding + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def idx_bytes(array: np.ndarray, type_byte: int = 0x08) -> bytes:
    header = struct.pack(">BBBB", 0, 0, type_byte, array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()


def png_bytes(array: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buf, format="PNG")
    return buf.getvalue()


def with_ihdr(png: bytes, fields: bytes) -> bytes:
    """`png` with its 13-byte IHDR data replaced by `fields` and the chunk CRC recomputed."""
    start = 8 + 8  # signature, then IHDR length and type
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + fields))
    return png[:start] + fields + crc + png[start + 13 + 4 :]


RNG = np.random.RandomState(0)
GREY = (RNG.rand(4, 4) * 255).astype(np.uint8)
IDX_SEEDS = [idx_bytes(GREY[None].repeat(3, 0)), idx_bytes(np.arange(5))]
IDX_SEEDS += [gzip.compress(seed, mtime=0) for seed in IDX_SEEDS]
NPY_SEEDS = [
    npy_bytes(RNG.rand(6, 3)),
    npy_bytes(GREY[None].repeat(4, 0)),
    npy_bytes(RNG.rand(4, 4, 4, 3).astype(np.float32)),
    npy_bytes(RNG.rand(5, 2) > 0.5),
]
NPZ_SEEDS = [
    npz_bytes(x=RNG.rand(6, 3), y=np.arange(6)),
    npz_bytes(images=GREY[None].repeat(4, 0), labels=np.arange(4) % 2),
    npz_bytes(data=RNG.rand(5, 1, 4, 4).astype(np.float32)),
]
CSV_SEEDS = [
    b"a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8.5,1\n-1e3,0,2\n",
    b"label,x\n0,0.5\n1,nan\n0,3\n",
    "\ufeffa;b\n1;2\n3;4\n5;6\n".encode(),
]
PNG_SEEDS = [png_bytes(GREY, mode) for mode in ("L", "RGB", "P", "1", "LA", "RGBA")]
CENTRAL_DIR = NPZ_SEEDS[0].find(b"PK\x01\x02")  # first central directory entry of the zip
SMALL_VAE = VAEConfig(input_shape=(1, 4, 4), latent_dim=2, hidden_dims=(4,)).to_dict()


def flip(data: bytes, offset: int, mask: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= mask
    return bytes(out)


# ---- the contract ---------------------------------------------------------------------


class LoaderHang(BaseException):
    """Raised by the alarm; a BaseException so no loader's `except Exception` can swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def on_alarm(signum: int, frame: object) -> None:
        raise LoaderHang(f"loader still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module", autouse=True)
def capped_address_space() -> Iterator[None]:
    """Cap virtual memory a few GiB above what the process uses, so huge allocations fail."""
    with open("/proc/self/status") as handle:
        vm_kib = next(int(line.split()[1]) for line in handle if line.startswith("VmSize"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = vm_kib * 1024 + ADDRESS_SPACE_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def returns_or_raises_vaekit_error(call: Callable[[], T]) -> T | None:
    """call()'s result, or None when it raised a VaekitError with a one-line message."""
    with time_limit(CALL_SECONDS):
        try:
            return call()
        except VaekitError as err:
            message = str(err)
            assert message and "\n" not in message, f"not one line: {message!r}"
            return None


def check_splits(splits: Any) -> None:
    """A valid load_data result: finite float32 splits shaped like the spec, labels >= 0."""
    spec = splits.spec
    for split in (splits.train, splits.val, splits.test):
        assert len(split) > 0 and tuple(split.x.shape[1:]) == spec.shape
        assert bool(torch.isfinite(split.x).all()), "non-finite values in a loaded split"
        if spec.kind == "image":
            assert split.x.min() >= 0 and split.x.max() <= 1
        if split.y is not None:
            assert split.y.min() >= 0 and split.y.max() < spec.num_classes


@contextlib.contextmanager
def scratch_files(files: dict[str, bytes]) -> Iterator[Path]:
    """A temporary folder holding `files` (name -> bytes), removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        yield Path(tmp)


def load_file(data: bytes, suffix: str, **config: Any) -> None:
    """Write data to a file, call the direct reader and load_data; check both."""
    reader = {".npy": read_npy, ".npz": read_npz, ".csv": read_csv_table}[suffix]
    with scratch_files({f"x{suffix}": data}) as folder:
        path = folder / f"x{suffix}"
        data_config = DataConfig(source=str(path), **config)
        raw = returns_or_raises_vaekit_error(lambda: reader(path, data_config))
        if raw is not None:
            assert raw.x.shape[0] >= 1 and raw.kind in ("image", "table")
        splits = returns_or_raises_vaekit_error(lambda: load_data(data_config))
    if splits is not None:
        check_splits(splits)


# ---- strategies -----------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """One of `seeds` after 1-6 bit flips, overwritten bytes, truncations or insertions."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(("flip", "byte", "cut", "insert", "drop")))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and data:
            data[at] = draw(st.sampled_from((0, 1, 0x7F, 0x80, 0xFF)) | st.integers(0, 255))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "drop":
            del data[at : at + draw(st.integers(1, 8))]
    return bytes(data)


BIG_INTS = st.integers(min_value=2**31 - 2, max_value=2**70) | st.just(10**400)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 300)
    | BIG_INTS
    | st.integers().map(lambda n: -n)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)


def edit_dict(draw: st.DrawFn, d: dict) -> None:
    """Delete a key, replace a value with any JSON value, or add an unknown key, in place."""
    action = draw(st.sampled_from(("delete", "replace", "add")))
    if action == "add" or not d:
        d[draw(st.text(max_size=8))] = draw(JSON_VALUES)
        return
    key = draw(st.sampled_from(sorted(d)))
    if action == "delete":
        del d[key]
    else:
        d[key] = draw(JSON_VALUES)


@st.composite
def edited(draw: st.DrawFn, base: dict) -> dict:
    """`base` deep-copied with 1-4 edits to it or its nested dicts (any depth)."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        nested = [payload]
        for d in nested:
            nested += [v for v in d.values() if isinstance(v, dict)]
        edit_dict(draw, draw(st.sampled_from(nested)))
    return payload


# ---- IDX ------------------------------------------------------------------------------


def check_read_idx(data: bytes) -> None:
    with scratch_files({"x.idx": data}) as folder:
        array = returns_or_raises_vaekit_error(lambda: read_idx(folder / "x.idx"))
    if array is not None:
        assert array.dtype == np.uint8 and 1 <= array.ndim <= 4 and array.size > 0


@FUZZ
@given(data=st.binary(max_size=200) | mutated(IDX_SEEDS))
def test_idx_random_and_mutated_bytes(data: bytes) -> None:
    check_read_idx(data)


@FUZZ
@given(
    type_byte=st.sampled_from((0x08, 0x09, 0x0B, 0x0D, 0x00)),
    dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 6), min_size=0, max_size=6),
    payload=st.binary(max_size=64),
    gz=st.booleans(),
)
def test_idx_header_with_random_dims(type_byte: int, dims: list, payload: bytes, gz: bool) -> None:
    data = struct.pack(">BBBB", 0, 0, type_byte, len(dims))
    data += struct.pack(f">{len(dims)}I", *dims) + payload
    check_read_idx(gzip.compress(data) if gz else data)


# ---- .npy / .npz ----------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=300) | mutated(NPY_SEEDS))
def test_npy_random_and_mutated_bytes(data: bytes) -> None:
    load_file(data, ".npy")


@FUZZ
@given(
    descr=st.sampled_from(("<f8", "|u1", "|b1", "<i4", ">f4", "<f2", "|O", "<U3", "<c8", "|V4")),
    shape=st.lists(st.integers(0, 5) | BIG_INTS | st.integers(-3, -1), max_size=5).map(tuple),
    fortran_order=st.booleans(),
    payload=st.binary(max_size=128),
)
def test_npy_header_with_random_shape(
    descr: str, shape: tuple, fortran_order: bool, payload: bytes
) -> None:
    load_file(npy_header(descr, shape, fortran_order) + payload, ".npy")


@FUZZ
@given(data=st.binary(max_size=300) | mutated(NPZ_SEEDS))
def test_npz_random_and_mutated_bytes(data: bytes) -> None:
    load_file(data, ".npz")


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_object_arrays_are_data_errors_never_unpickled(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"x{suffix}"
    objects = np.array([[{"a": 1}, None]] * 4, dtype=object)
    if suffix == ".npy":
        np.save(path, objects, allow_pickle=True)
    else:
        np.savez(path, x=objects)
    with pytest.raises(DataError, match="pickle"):
        load_data(DataConfig(source=str(path)))


# ---- CSV ------------------------------------------------------------------------------


@FUZZ
@given(
    data=st.text(max_size=200).map(str.encode) | mutated(CSV_SEEDS),
    label_column=st.sampled_from((None, "label", "a", "x")),
)
def test_csv_random_and_mutated_text(data: bytes, label_column: str | None) -> None:
    load_file(data, ".csv", label_column=label_column)


# ---- image folders --------------------------------------------------------------------


def check_image_folder(png: bytes) -> None:
    """A folder of the fuzzed image beside two valid 4x4 greyscale PNGs."""
    files = {"a.png": png, "b.png": PNG_SEEDS[0], "c.png": PNG_SEEDS[0]}
    with scratch_files(files) as folder:
        config = DataConfig(source=str(folder))
        splits = returns_or_raises_vaekit_error(lambda: load_data(config))
    if splits is not None:
        check_splits(splits)


@FUZZ
@given(data=st.binary(max_size=100) | mutated(PNG_SEEDS))
def test_image_folder_with_mutated_png(data: bytes) -> None:
    check_image_folder(data)


@FUZZ
@given(
    seed=st.sampled_from(PNG_SEEDS),
    size=st.tuples(st.integers(0, 70_000), st.integers(0, 70_000)) | st.tuples(BIG_INTS, BIG_INTS),
    bit_depth=st.sampled_from((1, 2, 4, 8, 16, 0, 3)),
    colour_type=st.sampled_from((0, 2, 3, 4, 6, 1, 7)),
    tail=st.binary(min_size=3, max_size=3),
)
def test_image_folder_png_header_with_random_fields(
    seed: bytes, size: tuple[int, int], bit_depth: int, colour_type: int, tail: bytes
) -> None:
    width, height = (min(side, 2**32 - 1) for side in size)
    fields = struct.pack(">IIBB", width, height, bit_depth, colour_type) + tail
    check_image_folder(with_ihdr(seed, fields))


# ---- run directories ------------------------------------------------------------------


@dataclass(frozen=True)
class SavedModel:
    """config.json (parsed) and model.safetensors bytes of a small real saved VAE."""

    payload: dict = field(repr=False)
    weights: bytes = field(repr=False)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> SavedModel:
    folder = tmp_path_factory.mktemp("saved")
    save_model(VAE(VAEConfig(input_shape=(1, 4, 4), latent_dim=2, hidden_dims=(4,))), folder)
    payload = json.loads((folder / "config.json").read_text())
    return SavedModel(payload, (folder / "model.safetensors").read_bytes())


def check_load_model(config_json: str | bytes, weights: bytes) -> None:
    raw = config_json.encode() if isinstance(config_json, str) else config_json
    with scratch_files({"config.json": raw, "model.safetensors": weights}) as folder:
        model = returns_or_raises_vaekit_error(lambda: load_model(folder))
    if model is not None:
        assert isinstance(model, LatentVariableModel)


@FUZZ
@given(text=st.text(max_size=100) | st.binary(max_size=100))
def test_load_model_with_random_config_json(saved_model: SavedModel, text: Any) -> None:
    check_load_model(text, saved_model.weights)


@FUZZ
@given(data=st.data())
def test_load_model_with_edited_config_json(saved_model: SavedModel, data: st.DataObject) -> None:
    check_load_model(json.dumps(data.draw(edited(saved_model.payload))), saved_model.weights)


@FUZZ
@given(data=st.data(), fix_checksum=st.booleans())
def test_load_model_with_mutated_weights(
    saved_model: SavedModel, data: st.DataObject, fix_checksum: bool
) -> None:
    payload, weights = saved_model.payload, saved_model.weights
    fuzzed = data.draw(st.binary(max_size=200) | mutated([weights]))
    if fix_checksum:  # so the bytes reach the safetensors parser
        payload = {**payload, "weights_sha256": hashlib.sha256(fuzzed).hexdigest()}
    check_load_model(json.dumps(payload), fuzzed)


# ---- config dicts ---------------------------------------------------------------------

TABLE_SPEC = DataSpec(
    shape=(2,), kind="table", binarize="none", levels=None, source="t.csv", scaling="s",
    feature_mean=(0.0, 1.0), feature_std=(1.0, 2.0), num_classes=3,
)  # fmt: skip
IMAGE_SPEC = DataSpec(
    shape=(1, 4, 4), kind="image", binarize="static", levels=2, source="digits", scaling="s",
    num_classes=10,
)  # fmt: skip
CONFIG_BASES = [
    (VAEConfig, SMALL_VAE),
    (TrainConfig, TrainConfig(grad_clip=1.0, checkpoint_every=5).to_dict()),
    (DataConfig, DataConfig(val_size=3, label_column="label").to_dict()),
    (DataSpec, TABLE_SPEC.to_dict()),
    (DataSpec, IMAGE_SPEC.to_dict()),
]


@FUZZ
@given(data=st.data(), which=st.integers(0, len(CONFIG_BASES) - 1))
def test_config_from_dict(data: st.DataObject, which: int) -> None:
    cls, base = CONFIG_BASES[which]
    payload = data.draw(edited(base) | st.dictionaries(st.text(max_size=12), JSON_VALUES))
    check_from_dict(cls, payload)


def check_from_dict(cls: type, payload: dict) -> None:
    config = returns_or_raises_vaekit_error(lambda: cls.from_dict(payload))
    if config is not None:  # what was accepted survives a trip through JSON (NaN == NaN here)
        text = json.dumps(config.to_dict())
        assert json.dumps(cls.from_dict(json.loads(text)).to_dict()) == text


# ---- inputs that once broke a loader ----------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


def table_outside_float32() -> bytes:
    """A column nearly constant (std ~1e-100) in train, with 1.0 in the test split."""
    x = 1e-100 * np.arange(1, 11, dtype=np.float64)[:, None]
    x[np.random.RandomState(0).permutation(10)[0]] = 1.0  # a test index for seed 0
    return npy_bytes(x)


def idat_length(png: bytes, length: int) -> bytes:
    """`png` whose first IDAT chunk claims `length` bytes (the data stay as they are)."""
    at = png.index(b"IDAT") - 4
    return png[:at] + struct.pack(">I", length) + png[at + 4 :]


def model_section(section: dict) -> Callable[[SavedModel], None]:
    """config.json with this model section and no checksum (it is optional) beside real weights."""
    payload = {"format_version": 1, "model": section}
    return lambda saved: check_load_model(json.dumps(payload), saved.weights)


UNCLOSED_HEADER = b"\x93NUMPY\x01\x00\x06\x00\0\0\0'''"  # numpy tokenizes it

REGRESSIONS: dict[str, Callable[[SavedModel], None]] = {
    "npy-holding-a-zip": lambda _: load_file(NPZ_SEEDS[0], ".npy"),
    "npy-header-huge-shape": lambda _: load_file(npy_header("<f8", (10**14,), False), ".npy"),
    "npy-header-shape-overflow": lambda _: load_file(npy_header("<f8", (10**30,), False), ".npy"),
    "npy-header-tokenize-error": lambda _: load_file(UNCLOSED_HEADER, ".npy"),
    "npy-header-int-key": lambda _: load_file(npy_header("<f8", (6, 3), False, "2: 0"), ".npy"),
    "npy-table-overflows-float32": lambda _: load_file(table_outside_float32(), ".npy"),
    "npz-holding-an-npy": lambda _: load_file(NPY_SEEDS[0], ".npz"),
    "npz-member-not-an-array": lambda _: load_file(zip_bytes({"x.npy": b"not an array"}), ".npz"),
    "npz-encrypted-flag": lambda _: load_file(flip(NPZ_SEEDS[0], CENTRAL_DIR + 8, 1), ".npz"),
    "npz-compression-1": lambda _: load_file(flip(NPZ_SEEDS[0], CENTRAL_DIR + 10, 1), ".npz"),
    "config-json-deep": lambda saved: check_load_model("[" * 100_000, saved.weights),
    "model-name-a-list": model_section({"name": [], "config": SMALL_VAE}),
    "model-input-beyond-int64": model_section(
        {"name": "vae", "config": {**SMALL_VAE, "input_shape": [1, 4, 10**21]}}
    ),
    "model-huge-input": model_section(
        {"name": "vae", "config": {**SMALL_VAE, "input_shape": [1, 100_000, 100_000]}}
    ),
    "train-lr-huge-int": lambda _: check_from_dict(TrainConfig, {"lr": 10**400}),
    "spec-mean-huge-int": lambda _: check_from_dict(
        DataSpec, {**TABLE_SPEC.to_dict(), "feature_mean": [10**400, 0]}
    ),
    "spec-missing-keys": lambda _: check_from_dict(DataSpec, {"shape": [2]}),
    "png-idat-length-4gib": lambda _: check_image_folder(idat_length(PNG_SEEDS[0], 2**32 - 1)),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_regression(saved_model: SavedModel, case: str) -> None:
    REGRESSIONS[case](saved_model)
