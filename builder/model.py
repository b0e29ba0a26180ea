"""The old import path of :mod:`weike.builder.contracts.model`, kept for plugins written against it.

Part of the public contract (docs/plugins.md): ``from weike.builder.model import ...`` keeps working.
weike's own code imports the new path.
"""

from weike.builder.contracts.model import *  # noqa: F401,F403
