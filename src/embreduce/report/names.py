"""The names pages show for methods and candidates (raw text: escape before HTML)."""

from __future__ import annotations

from embreduce.choices import REDUCER_NAMES
from embreduce.study.candidates import split_candidate

METHOD_NAMES = {
    **REDUCER_NAMES,
    "limit": "limit",
    "original": "original",
}
"""Display names of the reducers the registry knows; other names are shown as they are."""


ROTATION_NAMES = {"random": "random", "itq": "ITQ"}


def method_name(method: str) -> str:
    """The display name of a method (raw text; escape before putting it in HTML).

    A study's rotated-codec candidates (``pca+itq``) read "PCA, ITQ rotation".
    """
    base, rotation = split_candidate(method)
    name = METHOD_NAMES.get(base, base)
    return f"{name}, {ROTATION_NAMES.get(rotation, rotation)} rotation" if rotation else name
