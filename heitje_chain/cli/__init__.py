"""`heitje`: the command-line tool for the municipality's staff.

The command line is in `command_line`, the commands in modules by area.

What other modules use is here: `main` (the entry point, `heitje_chain.cli:main`), and for
`heitje_chain.network_cli` the context, the usage error and the password prompt.
"""

from heitje_chain.cli.command_line import build_parser, main
from heitje_chain.cli.common import Context, UsageError, password_for, write_csv

__all__ = ["Context", "UsageError", "build_parser", "main", "password_for", "write_csv"]
