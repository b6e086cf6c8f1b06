"""The ``embreduce`` command line: a thin shell over the library.

Each command parses its options, calls one library function and prints the outcome.
Errors meant for users print as one line (exit 1; 2 for bad usage); ``--debug`` shows
the traceback instead.

:mod:`~embreduce.cli.app` holds the Typer app and its error handling,
:mod:`~embreduce.cli.options` the shared options, :mod:`~embreduce.cli.printing` the
tables; each command module registers its commands when the app first needs them.
"""

# The commands register themselves when their modules are imported, which the app does
# on first use (`embreduce.cli.app.COMMANDS` lists them).
from embreduce.cli.app import app, main, user_errors

__all__ = ["app", "main", "user_errors"]
