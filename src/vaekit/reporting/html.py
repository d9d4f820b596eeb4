"""report.html: one self-contained page per run (config, data, metrics, evaluation, every
picture as a base64 data URI). It loads nothing from the network, so it opens offline and
can be mailed or attached as a single file."""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path
from typing import Any

from vaekit.io import write_text_atomic
from vaekit.version import __version__

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
td, th { border: 1px solid #ddd; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td.key { text-align: left; font-family: monospace; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
.sections { display: flex; flex-wrap: wrap; gap: 0 2.5em; align-items: flex-start; }
figcaption { font-size: .9em; color: #444; margin-top: .3em; }
.scroll { overflow-x: auto; } .note { color: #666; font-size: .9em; }
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.5g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value) if len(value) <= 12 else f"{len(value)} values"
    return str(value)


def key_value_table(items: dict[str, Any]) -> str:
    """A two-column HTML table of names and (escaped) values."""
    rows = "".join(
        f'<tr><td class="key">{html.escape(str(key))}</td><td class="key">'
        f"{html.escape(_fmt(value))}</td></tr>"
        for key, value in items.items()
    )
    return f"<table>{rows}</table>"


def metrics_table(history: list[dict[str, float]]) -> str:
    """One row per epoch, every column any epoch has."""
    columns: list[str] = []
    for row in history:
        columns += [key for key in row if key not in columns]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in history
    )
    return f'<div class="scroll"><table><tr>{head}</tr>{body}</table></div>'


def embedded_png(path: Path) -> str:
    """A PNG file as a data URI."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def write_html_report(
    path: str | os.PathLike,
    *,
    title: str,
    sections: dict[str, dict[str, Any]],
    history: list[dict[str, float]],
    evaluations: list[dict[str, Any]],
    pictures: dict[str, Path],
    notes: list[str] = (),
) -> Path:
    """Write one HTML file. sections: heading -> key/value table (model, training, data...);
    history: metrics.csv rows; evaluations: `vaekit eval --json` objects; pictures: caption
    -> PNG file, embedded as data URIs; notes: sentences shown under the title."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">written by vaekit {html.escape(__version__)}; all figures in nats '
        "per example unless stated; images are embedded, nothing is loaded from the network.</p>",
    ]
    parts += [f"<p>{html.escape(note)}</p>" for note in notes]
    parts.append('<div class="sections">')
    for heading, items in sections.items():
        parts += [f"<div><h2>{html.escape(heading)}</h2>", key_value_table(items), "</div>"]
    parts.append("</div>")
    if history:
        parts += ["<h2>Training metrics (per epoch)</h2>", metrics_table(history)]
    parts.append("<h2>Evaluation</h2>")
    if not evaluations:
        parts.append(
            '<p class="note">no saved evaluation: run <code>vaekit eval RUN --save</code> '
            "(it writes RUN/eval.json) and write the report again.</p>"
        )
    for evaluation in evaluations:
        split = evaluation.get("split", "?")
        parts += [f"<h3>{html.escape(str(split))} split</h3>", key_value_table(evaluation)]
    parts.append("<h2>Pictures</h2>")
    for caption, file in pictures.items():
        parts.append(
            f'<figure><img src="{embedded_png(file)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    target = Path(path)
    write_text_atomic(target, "\n".join(parts) + "\n")
    return target
