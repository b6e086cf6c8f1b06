"""The names embreduce gives to the columns (and ``.npz`` members) it writes."""

from __future__ import annotations

VECTOR_COLUMN = "embedding"


TEXT_COLUMN = "text"


CODES_COLUMN = "codes"
"""The column (Parquet) or array (``.npz``) that holds packed codes."""
