"""Parameters the scikit-learn way, for classes that must import without scikit-learn.

Importing scikit-learn takes 1.4 s on a small machine (``sklearn.base`` loads SciPy's
statistics), more than ``embreduce compress`` spends compressing a million vectors. The
codecs are on that path, so they take scikit-learn's parameter contract from
:class:`Parameters` instead of inheriting ``sklearn.base.BaseEstimator``: parameters are
the ``__init__`` arguments, stored under their own names; :meth:`~Parameters.get_params`,
:meth:`~Parameters.set_params` and the ``repr`` (parameters that differ from their
defaults) behave as scikit-learn's, so ``sklearn.base.clone`` works on them too. The
reducers are scikit-learn estimators and stay so.
"""

from __future__ import annotations

import inspect
from typing import Any


class NotFittedError(ValueError, AttributeError):
    """A model used before ``fit``: scikit-learn's ``NotFittedError``, without importing it."""


def check_fitted(obj: Any, attribute: str) -> None:
    """Raise :class:`NotFittedError` unless ``obj`` has the fitted ``attribute``.

    Examples
    --------
    >>> check_fitted(object(), "n_features_in_")
    Traceback (most recent call last):
    ...
    embreduce.params.NotFittedError: This object is not fitted yet: call fit first.
    """
    if not hasattr(obj, attribute):
        raise NotFittedError(f"This {type(obj).__name__} is not fitted yet: call fit first.")


class Parameters:
    """``get_params``, ``set_params`` and a ``repr`` of the parameters, as scikit-learn's.

    Examples
    --------
    >>> class Box(Parameters):
    ...     def __init__(self, size=1, label="box"):
    ...         self.size, self.label = size, label
    >>> Box(size=3)
    Box(size=3)
    >>> Box().set_params(label="crate").get_params()
    {'label': 'crate', 'size': 1}
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        names = [p.name for p in signature.parameters.values() if p.kind not in kinds]
        return sorted(name for name in names if name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters, by name (``deep`` is accepted for scikit-learn's ``clone``)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set parameters by name; an unknown name raises ``ValueError``. Returns ``self``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}: "
                    f"use one of {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params().items()
            if repr(value) != repr(defaults.get(name, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"
