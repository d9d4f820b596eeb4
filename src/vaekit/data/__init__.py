"""Data: built-in datasets and user files to float32 tensors, plus the DataSpec models need."""

from vaekit.data.batches import Batch, iterate_batches, num_batches
from vaekit.data.binarize import binarize_batch
from vaekit.data.config import DataConfig
from vaekit.data.dequantize import dequantize_batch, noise_widths
from vaekit.data.load import DATASETS, load_data
from vaekit.data.mapped import MappedExamples, as_tensor, binarized_split
from vaekit.data.spec import DataSpec
from vaekit.data.splits import DataSplits, Split

__all__ = [
    "DATASETS",
    "Batch",
    "DataConfig",
    "DataSpec",
    "DataSplits",
    "MappedExamples",
    "Split",
    "as_tensor",
    "binarize_batch",
    "binarized_split",
    "dequantize_batch",
    "iterate_batches",
    "load_data",
    "noise_widths",
    "num_batches",
]
