"""Where the IDX files of the built-in datasets are looked for, in order."""

from __future__ import annotations

import os
from pathlib import Path

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
APT_PACKAGES = {"fashion-mnist": "dataset-fashion-mnist"}


def user_cache_dir(name: str) -> Path:
    """${XDG_CACHE_HOME:-~/.cache}/vaekit/<name>: where downloads are installed."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "vaekit" / name


def dataset_search_dirs(name: str) -> list[Path]:
    """$VAEKIT_DATA/<name> (when set), the user cache, then /usr/share/datasets/<name>."""
    dirs = []
    if os.environ.get("VAEKIT_DATA"):
        dirs.append(Path(os.environ["VAEKIT_DATA"]) / name)
    dirs.append(user_cache_dir(name))
    dirs.append(SYSTEM_DATA_DIR / name)
    return dirs


def idx_file_path(folder: Path, stem: str) -> Path | None:
    """The raw file `stem` in folder if present, else `stem.gz`, else None."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_dataset_dir(name: str) -> Path | None:
    """First search folder holding all four IDX files (raw or .gz) of `name`, or None."""
    for folder in dataset_search_dirs(name):
        if all(idx_file_path(folder, stem) is not None for stem in IDX_FILES):
            return folder
    return None


def where_to_put(name: str) -> str:
    """One-line hint listing the folders searched (and the apt package, if any)."""
    places = []
    if not os.environ.get("VAEKIT_DATA"):
        places.append(f"$VAEKIT_DATA/{name} (VAEKIT_DATA is unset)")
    places.extend(str(d) for d in dataset_search_dirs(name))
    hint = f"put the four IDX files ({', '.join(IDX_FILES)}, optionally .gz) in one of: "
    hint += ", ".join(places)
    if name in APT_PACKAGES:
        hint += f"; or run `apt-get install {APT_PACKAGES[name]}`"
    return hint
