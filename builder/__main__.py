"""``python -m builder`` runs the weike command."""

import sys

from weike.builder.cli import main

sys.exit(main())
