"""Imports flow one way: a module imports only its own package and lower layers."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "vaekit"
LAYERS = {
    **dict.fromkeys(("errors", "version"), -2),
    **dict.fromkeys(("units", "config_fields"), -1),
    **dict.fromkeys(("distributions", "nn", "data", "io"), 0),
    **dict.fromkeys(("likelihoods", "priors"), 1),
    "objectives": 2,  # just below models: a model's elbo() delegates to it
    "models": 3,
    **dict.fromkeys(("training", "evaluation", "sampling", "compression", "features"), 4),
    "reporting": 5,
    "cli": 6,
    "__main__": 7,  # `python -m vaekit`: the command itself
}
ALLOWED_SIDEWAYS = {("training", "evaluation")}
FORBIDDEN = {("nn", "distributions"), ("data", "io"), ("data", "distributions")}


def package_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "vaekit" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = [p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT]


def test_every_package_has_a_layer():
    assert {package_of(p) for p in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_flow_down(path):
    own = package_of(path)
    for target in imported_packages(path) - {own}:
        edge = (own, target)
        assert edge not in FORBIDDEN, f"{own} must not import {target}"
        assert LAYERS[target] < LAYERS[own] or edge in ALLOWED_SIDEWAYS, (
            f"{path.relative_to(ROOT)} imports vaekit.{target} (layer {LAYERS[target]}) "
            f"from layer {LAYERS[own]}"
        )
