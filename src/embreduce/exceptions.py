"""Errors that embreduce raises for its users."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type if it has none)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class EmbreduceError(Exception):
    """A failure the user can fix: bad input, a missing model, an impossible request.

    The command-line interface prints its message as one line and exits with code 1.
    """


class InputError(EmbreduceError, ValueError):
    """The data handed to embreduce cannot be used as it is (NaN, wrong shape, empty...)."""


class ModelNotFoundError(EmbreduceError):
    """An embedding model or a saved reducer could not be found or read."""


class OutputError(EmbreduceError):
    """An output that cannot be written: it would replace an input or a file the run did
    not make, its suffix is wrong, or its folder cannot be written."""


class ParameterError(InputError):
    """A parameter value that is not allowed (a bad usage rather than bad data).

    The command-line interface prints its message as one line and exits with code 2.
    """
