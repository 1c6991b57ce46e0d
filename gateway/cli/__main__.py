"""`python -m gateway.cli ...`: the `p1gw` console script run from a checkout (the tests' subprocesses)."""

import sys

from gateway.cli import main

sys.exit(main())
