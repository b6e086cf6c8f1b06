"""The ``embreduce`` command line: a thin shell over the library.

Each command parses its options, calls one library function and prints the outcome.
Errors meant for users print as one line (exit 1; 2 for bad usage); ``--debug`` shows
the traceback instead.

:mod:`~embreduce.cli.app` holds the Typer app and its error handling,
:mod:`~embreduce.cli.options` the shared options, :mod:`~embreduce.cli.printing` the
tables, and the commands register themselves on import.
"""

# the commands register themselves on import, in the order --help lists them
from embreduce.cli import embed_command, study_command, compress_commands, search_commands, pages  # noqa: F401, I001
from embreduce.cli.app import app, main, user_errors

__all__ = ["app", "main", "user_errors"]
