"""The documentation stands on its own: it cites only what the repository holds."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKDOWN = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
SOURCES = [
    *MARKDOWN,
    *sorted((REPO / "src").rglob("*.py")),
    *sorted((REPO / "benchmarks").rglob("*.py")),
    *sorted((REPO / "tests").rglob("*.py")),
]
# documents outside the repository that texts used to cite: the protocol now lives in
# docs/benchmarks/README.md, and issue numbers mean nothing to a reader of a clone
OUTSIDE = re.compile(r"BENCHMARKS\.md|\b[Ii]ssues? #\d+")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def relative(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", SOURCES, ids=relative)
def test_no_citation_of_documents_outside_the_repository(path):
    if path == Path(__file__):
        return
    hits = [
        f"{relative(path)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert hits == []


@pytest.mark.parametrize("path", MARKDOWN, ids=relative)
def test_relative_links_point_at_files_in_the_repository(path):
    missing = []
    for target in LINK.findall(path.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the same page
        if not (path.parent / target.split("#")[0]).exists():
            missing.append(target)
    assert missing == [], f"{relative(path)} links to missing {missing}"


def test_the_benchmark_protocol_lists_every_benchmark_script():
    protocol = (REPO / "docs" / "benchmarks" / "README.md").read_text()
    for script in sorted((REPO / "benchmarks").glob("*.py")):
        if script.name != "__init__.py":
            assert f"`{script.name}`" in protocol, script.name
