"""See a study and a set of embeddings: the HTML report and the sentence maps (Plotly).

Both pages are single files that work offline: plotly.js is embedded once and nothing is
fetched. Plotting lives here only; the reducers and metrics never import this package.
"""

from __future__ import annotations

from embreduce.lazy import lazy_getattr

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


__getattr__ = lazy_getattr(__name__, _WHERE)
