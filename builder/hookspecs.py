"""The old import path of :mod:`weike.builder.contracts.hookspecs`, kept for plugins written against it.

Part of the public contract (docs/plugins.md): ``from weike.builder.hookspecs import ...`` keeps working.
weike's own code imports the new path.
"""

from weike.builder.contracts.hookspecs import *  # noqa: F401,F403
