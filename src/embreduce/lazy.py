"""Names a package exports but imports only when first used (PEP 562's module ``__getattr__``)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, where: dict[str, str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for a package whose names ``where``
    maps to the modules that define them, imported on first use.

    Examples
    --------
    >>> __all__, __getattr__, __dir__ = lazy_exports(__name__, {"dumps": "json"})
    """

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return sorted(where), lazy_getattr(package, where), __dir__


def lazy_getattr(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``where[name]`` on first use.

    The value is then kept in the package's namespace, so the import happens once.

    Examples
    --------
    >>> __getattr__ = lazy_getattr(__name__, {"dumps": "json"})  # in a package __init__
    """

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name]), name)
        vars(importlib.import_module(package))[name] = value
        return value

    return __getattr__
