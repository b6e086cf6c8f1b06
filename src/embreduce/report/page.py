"""Self-contained HTML pages: one template, plotly.js embedded once, data as escaped JSON.

Nothing on a page is fetched: plotly.js, the stylesheet, the page script and the data
all sit inside the file, so a report opened from a laptop with no network looks the same
as on the machine that wrote it.
"""

from __future__ import annotations

import html
import json
import os
import re
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from embreduce import __version__
from embreduce.outputs import atomic_write

_SLOT = re.compile(r"\{\{ (\w+) \}\}")


def escape_label(text: object, *, max_chars: int | None = None) -> str:
    """Make a user's text safe to show in HTML and in Plotly's HTML-ish labels.

    Long texts are shortened *before* escaping, so an entity such as ``&amp;`` is
    never cut in half.

    Quotes become numeric entities (``&#34;``, ``&#39;``): they are safe in HTML text and
    attributes alike, and, unlike ``&quot;``, Plotly decodes them.

    Examples
    --------
    >>> escape_label('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&#34;alert(1)&#34;&gt;'
    >>> escape_label("a long sentence", max_chars=8)
    'a long…'
    """
    text = " ".join(str(text).split())
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return html.escape(text, quote=False).replace('"', "&#34;").replace("'", "&#39;")


def script_json(obj: Any) -> str:
    """Serialise ``obj`` for a ``<script type="application/json">`` block.

    ``</`` is written as ``<\\/`` so no value can close the script element early.
    """
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_plain)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _plain(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def figure_json(fig: Any) -> dict[str, Any]:
    """A Plotly figure as JSON data for a page, without its layout template.

    Every chart on a page shares one template, which the page holds once (the template
    is most of a small figure's size). Arrays stay Plotly's compact typed-array encoding.
    """
    data = json.loads(fig.to_json(engine="json"))
    data.get("layout", {}).pop("template", None)
    return data


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The plotly.js bundle that ships with the installed ``plotly`` package."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _asset(name: str) -> str:
    return resources.files("embreduce.report").joinpath("templates", name).read_text("utf-8")


def _fill(template: str, values: dict[str, str]) -> str:
    # One pass: inserted values are never scanned for slots again.
    return _SLOT.sub(lambda match: values[match.group(1)], template)


def render_page(
    body: str,
    *,
    title: str,
    subtitle: str,
    data: Any,
    script: str,
    slots: dict[str, str] | None = None,
) -> str:
    """A whole page: the shared frame (``page.html``) around a packaged body template.

    Parameters
    ----------
    body : str
        Template of the page's ``<main>`` (``report.html``, ``map.html``), whose
        ``{{ name }}`` slots are filled from ``slots``.
    title, subtitle : str
        Escaped text for the header.
    data : object
        The page script's data, embedded as JSON (see :func:`script_json`) and read by
        the script from ``#page-data``.
    script : str
        Name of the packaged page script (``report.js``, ``map.js``).
    slots : dict of str, optional
        Escaped HTML for the body's slots.
    """
    main = _fill(_asset(body), slots or {})
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    frame = {
        "title": title,
        "subtitle": subtitle,
        "footer": escape_label(f"Written by embreduce {__version__} on {now}."),
        "main": main,
        "style": _asset("page.css"),
        "plotly_js": plotly_js(),
        "data": script_json(data),
        "script": _asset(script),
    }
    return _fill(_asset("page.html"), frame)


def notes_section(notes: list[str]) -> str:
    """A "Notes" card listing ``notes`` (raw text, escaped here), or nothing."""
    if not notes:
        return ""
    items = "".join(f"<li>{escape_label(note)}</li>" for note in dict.fromkeys(notes))
    return f'<section class="card notes" id="notes"><h2>Notes</h2><ul>{items}</ul></section>'


def write_page(path: str | os.PathLike[str], text: str, *, overwrite: bool = False) -> Path:
    """Write an HTML page atomically and return its path (replace a file with ``overwrite``)."""
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
