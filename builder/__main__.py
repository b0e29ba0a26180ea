"""``python -m builder`` runs the weike command."""

import sys

from builder.cli import main

sys.exit(main())
