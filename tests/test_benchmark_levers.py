"""The whole-run benchmark's lever edits still match vaekit's sources (a refactor that moves
a lever's code must move its edit too, or the benchmark would report the lever as stale)."""

from __future__ import annotations

import py_compile
from pathlib import Path

import pytest

from benchmarks.whole_run_levers import LEVERS, Lever, sources_without

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.parametrize("lever", LEVERS, ids=lambda lever: lever.name)
def test_each_lever_edit_applies_once_and_compiles(lever: Lever, tmp_path: Path) -> None:
    copy = sources_without(lever, SRC, tmp_path)
    assert copy is not None, f"{lever.file} no longer holds the text of {lever.name!r}"
    edited = (copy / lever.file).read_text()
    assert lever.old not in edited and lever.new in edited
    py_compile.compile(str(copy / lever.file), doraise=True)
    # every other file is untouched
    assert (copy / "vaekit" / "__init__.py").read_text() == (
        SRC / "vaekit" / "__init__.py"
    ).read_text()


def test_a_lever_whose_text_is_gone_is_reported_not_timed(tmp_path: Path) -> None:
    gone = Lever("gone", "a lever refactored away", "vaekit/cli/main.py", "no such text", "x")
    assert sources_without(gone, SRC, tmp_path) is None
