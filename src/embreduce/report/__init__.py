"""See a study and a set of embeddings: the HTML report and the sentence maps (Plotly).

Both pages are single files that work offline: plotly.js is embedded once and nothing is
fetched. Plotting lives here only; the reducers and metrics never import this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "SentenceMap": "embreduce.maps",
    "Study": "embreduce.report.study_report",
    "compute_maps": "embreduce.maps",
    "read_study": "embreduce.report.study_report",
    "write_map": "embreduce.report.maps",
    "write_report": "embreduce.report.study_report",
}
"""Imported on first use (PEP 562): a report does not load the map code, nor a map the
report's."""

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
