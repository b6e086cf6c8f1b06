"""Errors that embreduce raises for its users."""


class EmbreduceError(Exception):
    """A failure the user can fix: bad input, a missing model, an impossible request.

    The command-line interface prints its message as one line and exits with code 1.
    """


class InputError(EmbreduceError, ValueError):
    """The data handed to embreduce cannot be used as it is (NaN, wrong shape, empty...)."""


class ModelNotFoundError(EmbreduceError):
    """An embedding model or a saved reducer could not be found or read."""
