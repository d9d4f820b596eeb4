"""The speed levers of `vaekit train`, each with the source edit that turns it off.

benchmarks/whole_run.py --levers times, beside the textbook script and vaekit itself, one
copy of vaekit's sources per lever with that lever (only) turned off: the difference in wall
time is what the lever buys in a whole run. An edit is a literal replacement in one file; a
lever whose text is no longer found is reported as such rather than timed, so a refactor
cannot silently turn a row into a copy of vaekit itself.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Lever:
    name: str
    what: str  # what the lever does, as the report's row says it
    file: str  # relative to src/
    old: str
    new: str  # the replacement that turns the lever off


LEVERS = (
    Lever(
        "bf16 matrix products",
        "--precision auto: the fused step's GEMMs in bf16 on a CPU with bf16 instructions",
        "vaekit/training/engine.py",
        'return "bf16" if plain and on_bf16_cpu and bf16_measured(model, config) else "fp32"',
        'return "fp32"',
    ),
    Lever(
        "fused MLP step",
        "the hand-written ELBO gradient instead of autograd for the MLP VAE",
        "vaekit/training/state.py",
        "if dtype is not None and fused_path_applies(model, config):",
        "if False:",
    ),
    Lever(
        "16-bit binarization noise",
        "dynamic binarization from 16-bit slices of 64-bit draws instead of torch.rand",
        "vaekit/data/binarize.py",
        "if x.dtype not in (torch.float32, torch.float64):",
        "if True:",
    ),
    Lever(
        "byte-stored training split",
        "Fashion-MNIST's training split kept as uint8 and scaled per batch, not a float copy",
        "vaekit/data/mnist.py",
        "train = _examples if config.memory_map is False else _stored_examples",
        "train = _examples",
    ),
    Lever(
        "decoded IDX cache",
        "the decoded IDX files read from the user cache instead of inflating the .gz files",
        "vaekit/data/mnist.py",
        'cache = user_cache_dir("decoded")',
        "cache = None",
    ),
    Lever(
        "background checkpoint writes",
        "checkpoints written on a thread while the next epoch trains",
        "vaekit/training/loop.py",
        "    writer.submit(run_dir, checkpoint_contents(state, extra_tensors=extra))",
        "    writer.wait()\n    save_checkpoint(run_dir, state, extra_tensors=extra)",
    ),
    Lever(
        "Adam without torch.optim",
        "torch's fused Adam kernel called directly: no torch._dynamo import, no per-step wrappers",
        "vaekit/training/state.py",
        "if fused_adam_supported(params):",
        "if False:",
    ),
    Lever(
        "matplotlib imported beside the data load",
        "the training curves' import of matplotlib (~0.5 s) run on a thread during the data "
        "load instead of at the end",
        "vaekit/cli/pictures.py",
        'thread = threading.Thread(target=load, name="import matplotlib", daemon=True)',
        'thread = threading.Thread(target=None, name="import matplotlib", daemon=True)',
    ),
    Lever(
        "os._exit after the command",
        "the process ends once its output is flushed, without the interpreter's teardown",
        "vaekit/cli/main.py",
        "    os._exit(code)",
        "    sys.exit(code)",
    ),
)


def sources_without(lever: Lever, src: Path, into: Path) -> Path | None:
    """A copy of the source tree `src` (a src/ folder) in `into` with `lever` turned off;
    None when the lever's text is not found exactly once (the sources have moved on)."""
    target = into / "src"
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
    path = target / lever.file
    text = path.read_text() if path.is_file() else ""
    if text.count(lever.old) != 1:
        return None
    path.write_text(text.replace(lever.old, lever.new))
    return target
