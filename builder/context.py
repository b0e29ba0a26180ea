"""The old import path of :mod:`weike.builder.contracts.context`, kept for plugins written against it.

Part of the public contract (docs/plugins.md): ``from weike.builder.context import ...`` keeps working.
weike's own code imports the new path.
"""

from weike.builder.contracts.context import *  # noqa: F401,F403
