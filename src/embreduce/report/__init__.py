"""See a study and a set of embeddings: the HTML report and the sentence maps (Plotly).

Both pages are single files that work offline: plotly.js is embedded once and nothing is
fetched. Plotting lives here only; the reducers and metrics never import this package.
"""

from __future__ import annotations

from embreduce.maps import SentenceMap, compute_maps
from embreduce.report.maps import write_map
from embreduce.report.study_report import Study, read_study, write_report

__all__ = ["SentenceMap", "Study", "compute_maps", "read_study", "write_map", "write_report"]
