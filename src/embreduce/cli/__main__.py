"""``python -m embreduce.cli``: the same as the ``embreduce`` command."""

from embreduce.cli import main

main()
