"""Imports flow one way: a module imports only its own package and lower layers.

Every way a module can name another counts: `import vaekit.x`, `from vaekit.x import y`,
relative imports (`from . import y`, `from ..x import y`), the top package (`import vaekit`,
`from vaekit import Name`: it re-exports the library, so it sits above everything it
imports), and module names given to `importlib.import_module` / `__import__` as string
constants (or f-strings with a constant `vaekit.x.` prefix).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "vaekit"
TOP = "vaekit"  # the top package, for `import vaekit` and `from vaekit import Name`
LAYERS = {
    **dict.fromkeys(("errors", "version"), -2),
    **dict.fromkeys(("units", "config_fields"), -1),
    **dict.fromkeys(("distributions", "nn", "data", "io"), 0),
    **dict.fromkeys(("likelihoods", "priors"), 1),
    "objectives": 2,  # just below models: a model's elbo() delegates to it
    "models": 3,
    **dict.fromkeys(("training", "evaluation", "sampling", "compression", "features", "export"), 4),
    "reporting": 5,
    "sklearn": 5,  # the scikit-learn estimator: on top of training, sampling; below the CLI
    "serve": 6,  # the explorer's web app: on top of reporting's layer, below the CLI
    "cli": 7,
    "__main__": 8,  # `python -m vaekit`: the command itself
}
ALLOWED_SIDEWAYS = {("training", "evaluation")}
FORBIDDEN = {("nn", "distributions"), ("data", "io"), ("data", "distributions")}
IMPORT_FUNCTIONS = {"import_module", "__import__"}


def module_of(path: Path) -> tuple[str, bool]:
    """The dotted name of a source file under ROOT, and whether it is a package's __init__."""
    parts = ("vaekit", *path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def absolute_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a `from ... import` statement reads from."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def constant_prefix(node: ast.expr) -> str | None:
    """A string constant, or the constant start of an f-string up to its last dot."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value.rpartition(".")[0]
    return None


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Absolute names of the vaekit modules `source` (the text of `module`) imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = absolute_from(node, module, is_package)
            if origin == TOP:  # a subpackage by name, or a name the top package re-exports
                found.update(f"{TOP}.{a.name}" if a.name in LAYERS else TOP for a in node.names)
            else:
                found.add(origin)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            target = constant_prefix(node.args[0]) if name in IMPORT_FUNCTIONS else None
            if target:
                found.add(target)
    return {name for name in found if name == TOP or name.startswith(f"{TOP}.")}


def imported_packages(source: str, module: str, is_package: bool = False) -> set[str]:
    """The first-level packages of vaekit that `source` imports (TOP for the top package)."""
    names = imported_modules(source, module, is_package)
    return {TOP if name == TOP else name.split(".")[1] for name in names}


def exported_packages(source: str) -> set[str]:
    """Packages the top package re-exports: those it imports, and those its lazy exports
    name as "vaekit.x" strings (resolved on first use, PEP 562)."""
    packages = imported_packages(source, TOP, True) - {TOP}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            parts = node.value.split(".")
            if len(parts) >= 2 and parts[0] == TOP and parts[1] in LAYERS:
                packages.add(parts[1])
    return packages


def layer_of(package: str) -> float:
    """A package's layer; the top package sits just above everything it re-exports."""
    if package == TOP:
        source = (ROOT / "__init__.py").read_text()
        return max(LAYERS[p] for p in exported_packages(source)) + 0.5
    return LAYERS[package]


def upward_edges(source: str, module: str, is_package: bool = False) -> list[str]:
    """What is wrong with the imports of `module` (dotted, under vaekit): one line each."""
    own = module.split(".")[1]
    problems = []
    for target in sorted(imported_packages(source, module, is_package) - {own}):
        edge = (own, target)
        if edge in FORBIDDEN:
            problems.append(f"{module}: {own} must not import {target}")
        elif not (layer_of(target) < LAYERS[own] or edge in ALLOWED_SIDEWAYS):
            problems.append(
                f"{module} imports {target} (layer {layer_of(target)}) from layer {LAYERS[own]}"
            )
    return problems


MODULES = [p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT]


def test_every_package_has_a_layer():
    assert {module_of(p)[0].split(".")[1] for p in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_flow_down(path):
    module, is_package = module_of(path)
    assert upward_edges(path.read_text(), module, is_package) == []


UPWARD = {
    "absolute": "from vaekit.training import fit",
    "import statement": "import vaekit.models.vae",
    "relative sibling package": "from ..models import VAE",
    "relative package by name": "from .. import training",
    "top package, name": "from vaekit import fit",
    "top package, module": "import vaekit",
    "importlib constant": "import importlib\nimportlib.import_module('vaekit.cli.train')",
    "import_module f-string": "from importlib import import_module\n"
    "import_module(f'vaekit.reporting.{name}')",
    "__import__": "__import__('vaekit.evaluation')",
    "inside a function": "def f():\n    from ..sampling import generate",
    "forbidden pair": "from vaekit.io import write_text_atomic",
}


@pytest.mark.parametrize("kind", list(UPWARD))
def test_the_checker_catches_each_kind_of_upward_edge(kind):
    problems = upward_edges(UPWARD[kind], "vaekit.data.fake")
    assert len(problems) == 1, (kind, problems)


def test_the_checker_resolves_relative_imports_of_a_package_init():
    assert imported_packages("from . import load", "vaekit.data", True) == {"data"}
    assert imported_packages("from .. import errors", "vaekit.data", True) == {"errors"}
    assert imported_packages("from ..models import VAE", "vaekit.cli.train") == {"models"}
    assert upward_edges("from .. import cli", "vaekit.data", True) != []


@pytest.mark.parametrize(
    "source",
    [
        "from . import load",
        "from .load import load_data",
        "from vaekit import errors",
        "from vaekit.errors import DataError",
        "from .. import units",
        "import importlib\nimportlib.import_module('numpy')",
        "import importlib\nimportlib.import_module(name)",
    ],
)
def test_the_checker_passes_downward_and_own_package_imports(source):
    assert upward_edges(source, "vaekit.data.fake") == []
