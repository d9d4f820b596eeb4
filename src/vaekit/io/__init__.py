"""File formats and atomic writes: JSON, safetensors, never pickle."""

from vaekit.io.atomic import atomic_path, write_bytes_atomic, write_text_atomic, write_with_atomic
from vaekit.io.files import (
    read_json,
    read_tensor_shapes,
    read_tensors,
    sha256_file,
    write_json,
    write_tensors,
)

__all__ = [
    "atomic_path",
    "read_json",
    "read_tensor_shapes",
    "read_tensors",
    "sha256_file",
    "write_bytes_atomic",
    "write_json",
    "write_tensors",
    "write_text_atomic",
    "write_with_atomic",
]
