"""Examples left in a read-only memory map of their file and turned into float32 one batch
at a time.

A split of a large .npy (or uncompressed .npz member) is a MappedExamples: the file's values,
the rows of the file that belong to the split, and how to turn stored values into model
inputs, exactly as load_data turns an array held in memory:
  images: uint8 pixels/255, bool as 0/1, floats in [0, 1] as float32; a split may be
      binarized once with a fixed seed;
  tables: float64 of the stored values, integer columns dequantized once with a fixed seed
      (val and test), then standardized by the train split's column mean and std.
Indexing it with a slice, an int or an index tensor returns a float32 tensor of just those
rows, so batching, training and evaluation code that reads `x[start:stop]` works on either.
Resident memory stays bounded: batches are read from the file with pread, which copies them
out of the page cache without mapping any page into the process, and passes that go through
the map itself (the loaders' checks) hand its pages back every RELEASE_BYTES.
"""

from __future__ import annotations

import dataclasses
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vaekit.data.binarize import binarize_once
from vaekit.data.noise_stream import NoiseOnce, NoiseStream

# how much of the mapping may be resident before its pages are handed back
RELEASE_BYTES = 32 << 20
# what one page fault on a file map may make resident: Linux maps the page cache's folio
# around the page, up to 2 MiB (measured on Linux 6.18, ext4: 1,000 random 784-byte rows of
# a 235 MB file made 169 MB resident), so scattered rows are read a few at a time
MAX_FAULT_BYTES = 2 << 20
# rows read at a time by whole-split passes (statistics, checks): about 4 MiB
# of float64 values, whatever the number of columns
BLOCK_BYTES = 4 << 20
_ROWS_PER_DRAW = 4096  # as binarize_once: bounded float64 noise buffers
DECODINGS = ("pixels", "bool", "packed_bits", "float", "table")


def row_indices(index: np.ndarray, num_rows: int) -> np.ndarray:
    """index as the narrowest of int32 and int64 that holds indices up to num_rows: a
    split's rows take 4 bytes each, not 8 (index arrays are the part of a mapped split that
    grows with the file: a table of 14 million rows has 14 million of them)."""
    return np.asarray(index, dtype=np.int32 if num_rows < 2**31 else np.int64)


def block_rows(num_dims: int) -> int:
    """Rows per block of a whole-split pass over examples of num_dims values."""
    return max(1, BLOCK_BYTES // (8 * max(num_dims, 1)))


class MappedFile:
    """A read-only memory map of one whole file, shared by the splits read from it, and a
    descriptor of the file to read rows with pread."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        with open(path, "rb") as handle:
            self.mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._unreleased = 0

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def __reduce__(self) -> tuple:
        return MappedFile, (self.path,)  # a map is not picklable: reopen the file

    def address(self) -> int:
        """Where the map starts in this process's memory."""
        return np.frombuffer(self.mapping, np.uint8, count=1).__array_interface__["data"][0]

    def array(self, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """A read-only C-order array of `shape` viewing the file from byte `offset` on."""
        count = int(np.prod(shape))
        return np.frombuffer(self.mapping, dtype=dtype, count=count, offset=offset).reshape(shape)

    def read_rows(self, view: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
        """view[rows]: (B, *view.shape[1:]) for an array `view` of this file's map, read with
        pread (runs of consecutive rows in one call each), so no page of the map becomes
        resident. None where the OS has no pread or a row of `view` is not one run of bytes
        right after the previous row (the caller then indexes the map)."""
        inner = list(zip(view.shape[1:], view.strides[1:]))
        span = view.itemsize + sum((n - 1) * stride for n, stride in inner)
        if not hasattr(os, "pread") or view.strides[0] != span or min(view.strides) < 0:
            return None
        start = view.__array_interface__["data"][0] - self.address()
        unique, inverse = np.unique(rows, return_inverse=True)
        buffer = np.empty((len(unique), span), dtype=np.uint8)
        bounds = [0, *(np.flatnonzero(np.diff(unique) != 1) + 1).tolist(), len(unique)]
        for first, stop in zip(bounds[:-1], bounds[1:]):
            self._read_into(buffer[first:stop], start + int(unique[first]) * span)
        strides = (span, *view.strides[1:])
        values = np.ndarray((len(unique), *view.shape[1:]), view.dtype, buffer, strides=strides)
        return values if np.array_equal(unique, rows) else values[inverse]  # rows in order

    def _read_into(self, out: np.ndarray, offset: int) -> None:
        """Fill the C-contiguous bytes of `out` from the file at `offset`."""
        target, done = memoryview(out).cast("B"), 0
        while done < len(target):
            if hasattr(os, "preadv"):
                count = os.preadv(self._fd, [target[done:]], offset + done)
            else:
                chunk = os.pread(self._fd, len(target) - done, offset + done)
                target[done : done + len(chunk)], count = chunk, len(chunk)
            if count == 0:
                raise OSError(f"{self.path}: the file ended early (was it truncated?)")
            done += count

    def note_read(self, num_bytes: int) -> None:
        """Count bytes just read through the map; past RELEASE_BYTES, drop the process's
        resident pages (MADV_DONTNEED on a shared read-only map rereads them on demand)."""
        self._unreleased += num_bytes
        if self._unreleased >= RELEASE_BYTES and hasattr(mmap, "MADV_DONTNEED"):
            self.mapping.madvise(mmap.MADV_DONTNEED)
            self._unreleased = 0


@dataclass(frozen=True)
class Standardized:
    """(value - mean) / std in float64 per column, as load_data standardizes tables.

    mean, std: (D,) float64 of the train split."""

    mean: np.ndarray
    std: np.ndarray


class MappedExamples:
    """A float32 (N, *shape) split whose values are computed from stored rows on access.

    stored: (M, *shape) values as stored (a view of a MappedFile: uint8, bool or float
        images, any numeric table), or (M, ceil(D / 8)) packed bits; rows: (N,) integer
        indices into stored; decoding: one of DECODINGS; noise: drawn once over the split
        (binarization or dequantization); standardized: a table's column scaling.
    Offers what batch consumers use of a tensor: shape, ndim, dtype, device, len(),
    x[slice | int | index tensor] -> float32 tensor on `device`, and a lazy to(device).
    """

    def __init__(
        self,
        stored: np.ndarray,
        rows: np.ndarray,
        decoding: str,
        shape: tuple[int, ...],
        *,
        file: MappedFile | None = None,
        noise: NoiseOnce | None = None,
        standardized: Standardized | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}, got {decoding!r}")
        self.stored, self.rows, self.decoding = stored, row_indices(rows, len(stored)), decoding
        self.example_shape, self.file = tuple(shape), file
        self.noise, self.standardized = noise, standardized
        self.device = torch.device(device)
        self._stream = self._noise_stream()

    # what Split and batch consumers read of a tensor
    dtype = torch.float32

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self.rows), *self.example_shape))

    @property
    def ndim(self) -> int:
        return 1 + len(self.example_shape)

    @property
    def num_dims(self) -> int:
        return int(np.prod(self.example_shape))

    def __len__(self) -> int:
        return len(self.rows)

    def _noise_stream(self) -> NoiseStream | None:
        if self.noise is None:
            return None
        width = self.num_dims if self.noise.columns is None else len(self.noise.columns)
        return NoiseStream(self.noise.seed, width)

    def _derived(self, **changes: object) -> MappedExamples:
        fields = {
            "stored": self.stored,
            "rows": self.rows,
            "decoding": self.decoding,
            "shape": self.example_shape,
            "file": self.file,
            "noise": self.noise,
            "standardized": self.standardized,
            "device": self.device,
        }
        return MappedExamples(**{**fields, **changes})

    def to(self, *args: object, **kwargs: object) -> MappedExamples:
        """The same split, returning its batches on the device that Tensor.to's arguments
        name (nothing is copied now); any dtype but float32 is refused."""
        device = kwargs.get("device", self.device)
        for arg in (*args, kwargs.get("dtype")):
            if isinstance(arg, (str, torch.device)):
                device = arg
            elif arg is not None and arg != torch.float32:
                raise TypeError(f"a mapped split gives float32 batches; cannot convert to {arg}")
        return self._derived(device=device)

    def __getstate__(self) -> dict:
        """Picklable state: a view of a file map travels as its place in the file (the
        receiving process maps the file again), never as the values themselves."""
        state = {**self.__dict__, "_stream": None}
        if self.file is not None:
            start = self.stored.__array_interface__["data"][0] - self.file.address()
            state["stored"] = (start, self.stored.shape, self.stored.strides, self.stored.dtype)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.file is not None:
            start, shape, strides, dtype = state["stored"]
            self.stored = np.ndarray(
                shape, dtype, buffer=self.file.mapping, offset=start, strides=strides
            )
        self._stream = self._noise_stream()

    def take(self, index: np.ndarray | slice) -> MappedExamples:
        """The examples at `index` (into this split), still mapped: a view, not a copy."""
        noise = self.noise
        if noise is not None:
            noise = dataclasses.replace(noise, positions=noise.positions[index])
        return self._derived(rows=self.rows[index], noise=noise)

    def _with_noise(self, seed: int, columns: tuple[int, ...] | None) -> MappedExamples:
        if self.noise is not None:
            raise ValueError("this split has its noise drawn already")
        positions = row_indices(np.arange(len(self.rows)), len(self.rows))
        return self._derived(noise=NoiseOnce(seed, positions, columns))

    def binarized_once(self, seed: int) -> MappedExamples:
        """As binarize_once(all of this split's values, seed), drawn batch by batch."""
        return self._with_noise(seed, None)

    def dequantized_once(self, columns: tuple[int, ...], seed: int) -> MappedExamples:
        """As dequantize_once(all of this table's values, columns, seed), drawn batch by
        batch; the split unchanged when there are no columns."""
        return self._with_noise(seed, tuple(columns)) if columns else self

    def with_standardization(self, mean: np.ndarray, std: np.ndarray) -> MappedExamples:
        """This table with each column standardized as load_data standardizes tables."""
        return self._derived(standardized=Standardized(mean, std))

    def __getitem__(self, key: int | slice | torch.Tensor | np.ndarray) -> torch.Tensor:
        if isinstance(key, slice):
            return self._gather(np.arange(*key.indices(len(self))))
        if isinstance(key, (int, np.integer)):
            return self._gather(np.array([range(len(self))[key]]))[0]
        index = np.asarray(key.cpu() if isinstance(key, torch.Tensor) else key)
        if index.dtype == np.bool_:
            index = np.flatnonzero(index)
        return self._gather(np.where(index < 0, index + len(self), index))

    def _gather(self, index: np.ndarray) -> torch.Tensor:
        """Float32 tensor (B, *shape) on self.device of the examples at `index` (B,)."""
        if len(index) == 0:
            return torch.empty((0, *self.example_shape), dtype=torch.float32, device=self.device)
        values = self.values(index)
        if values.dtype != np.float32:
            values = values.astype(np.float32)
        return torch.from_numpy(values).to(self.device)

    def values(self, index: np.ndarray) -> np.ndarray:
        """The examples at `index` (B,) as numpy: float32 images, float64 table values
        (dequantized and standardized as configured) before their cast to float32."""
        raw = self._read(self.rows[index])
        if self.decoding == "table":
            return self._table_values(raw, index)
        values = self._decode(raw)
        if self.noise is not None:
            flat = values.reshape(len(index), -1)

            def binarize(rows: np.ndarray, noise: np.ndarray) -> None:
                flat[rows] = noise < flat[rows]

            self._stream.apply(self.noise.positions[index], binarize)
        return values

    def _table_values(self, raw: np.ndarray, index: np.ndarray) -> np.ndarray:
        """Stored table rows (B, D) -> float64 as load_data computes them: x + (u - 1/2) on
        the dequantized columns, then (x - mean) / std."""
        values = raw.astype(np.float64)
        if self.noise is not None:
            columns = list(self.noise.columns)

            def dequantize(rows: np.ndarray, noise: np.ndarray) -> None:
                values[rows[:, None], columns] += noise - 0.5

            self._stream.apply(self.noise.positions[index], dequantize)
        if self.standardized is not None:
            values = (values - self.standardized.mean) / self.standardized.std
        return values

    def value_blocks(self) -> Iterator[np.ndarray]:
        """The whole split in order, in blocks of block_rows(num_dims) examples, as values()
        gives them: a pass over the split that keeps only one block in memory."""
        step = block_rows(self.num_dims)
        for start in range(0, len(self), step):
            yield self.values(np.arange(start, min(start + step, len(self))))

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """stored[rows]: for a file, read with pread; where that cannot be, from the map, in
        runs of rows small enough that the pages each run faults in stay under RELEASE_BYTES
        before they are handed back."""
        if self.file is None:
            return self.stored[rows]
        values = self.file.read_rows(self.stored, rows)
        if values is not None:
            return values
        row_bytes = int(np.prod(self.stored.shape[1:])) * self.stored.itemsize
        if _resident_bound(rows, row_bytes) <= RELEASE_BYTES:
            self.file.note_read(_resident_bound(rows, row_bytes))
            return self.stored[rows]
        out = np.empty((len(rows), *self.stored.shape[1:]), dtype=self.stored.dtype)
        step = max(1, RELEASE_BYTES // (row_bytes + MAX_FAULT_BYTES))
        for start in range(0, len(rows), step):
            part = rows[start : start + step]
            np.take(self.stored, part, axis=0, out=out[start : start + len(part)])
            self.file.note_read(_resident_bound(part, row_bytes))
        return out

    def _decode(self, raw: np.ndarray) -> np.ndarray:
        """Stored image rows -> float32 (B, *shape), as convert._scale_images scales whole
        arrays (float32(pixel) / float32(255); bool as 0/1; floats cast to float32)."""
        values = np.empty((len(raw), *self.example_shape), dtype=np.float32)
        if self.decoding == "pixels":
            np.divide(raw, np.float32(255), out=values, dtype=np.float32)
        elif self.decoding in ("bool", "float"):
            np.copyto(values, raw, casting="unsafe")
        else:
            bits = np.unpackbits(raw, axis=1, count=self.num_dims)
            np.copyto(values, bits.reshape(values.shape))
        return values

    def to_tensor(self) -> torch.Tensor:
        """Every example as one float32 tensor: a copy the size of the split, for the few
        commands that need it whole."""
        chunk = max(1, (64 << 20) // (4 * max(self.num_dims, 1)))
        parts = [self[start : start + chunk] for start in range(0, len(self), chunk)]
        return torch.cat(parts) if parts else self[0:0]

    def numpy(self) -> np.ndarray:
        """to_tensor() as a numpy array (a copy of the whole split)."""
        return self.to_tensor().cpu().numpy()

    def packed_bits_once(self, seed: int) -> MappedExamples:
        """The split binarized once (as binarized_once) and kept in memory as packed bits,
        one bit per value, so shuffled batches need no noise stream."""
        stream = self.binarized_once(seed)
        chunk = _ROWS_PER_DRAW
        packed = np.concatenate(
            [
                np.packbits(stream[start : start + chunk].flatten(1).numpy().astype(np.uint8), 1)
                for start in range(0, len(self), chunk)
            ]
        )
        rows = row_indices(np.arange(len(self)), len(self))
        return MappedExamples(packed, rows, "packed_bits", self.example_shape, device=self.device)


def _resident_bound(rows: np.ndarray, row_bytes: int) -> int:
    """Most bytes of a file map that reading `rows` (B,) of row_bytes each makes resident:
    scattered rows fault in MAX_FAULT_BYTES each, a run of nearby rows its span."""
    scattered = len(rows) * (row_bytes + MAX_FAULT_BYTES)
    span = (int(rows.max()) - int(rows.min()) + 1) * row_bytes + 2 * MAX_FAULT_BYTES
    return min(scattered, span)


def as_tensor(x: torch.Tensor | MappedExamples) -> torch.Tensor:
    """x itself when it is a tensor; a mapped split copied whole into one (see to_tensor)."""
    return x.to_tensor() if isinstance(x, MappedExamples) else x


def binarized_split(x: torch.Tensor | MappedExamples, seed: int) -> torch.Tensor | MappedExamples:
    """binarize_once(x, seed) of a split's float32 (N, ...) values in [0, 1]: a tensor for a
    tensor, a mapped split drawn batch by batch for a mapped one."""
    if isinstance(x, MappedExamples):
        return x.binarized_once(seed)
    return torch.from_numpy(binarize_once(x.numpy(), seed))


def take_rows(
    x: np.ndarray | MappedExamples, index: np.ndarray | slice
) -> np.ndarray | MappedExamples:
    """The examples of x at `index`: a mapped view for a mapped split, numpy indexing else."""
    return x.take(index) if isinstance(x, MappedExamples) else x[index]


def row_blocks(x: np.ndarray | MappedExamples) -> Iterator[np.ndarray]:
    """x's examples in order, in blocks of block_rows(values per example) rows: views of an
    array, MappedExamples.value_blocks for a mapped split. Both use the same boundaries, so
    sums accumulated block by block agree to the bit between the two."""
    if isinstance(x, MappedExamples):
        yield from x.value_blocks()
        return
    step = block_rows(int(np.prod(x.shape[1:])))
    for start in range(0, len(x), step):
        yield x[start : start + step]
