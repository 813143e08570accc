"""`python -m heitje_chain.cli`: the same as `heitje`."""

import sys

from heitje_chain.cli.command_line import main

sys.exit(main())
