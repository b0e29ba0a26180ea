"""``python -m weike.builder`` runs the weike command (the same as the ``weike`` script)."""

import sys

from weike.builder.cli import main

sys.exit(main())
