"""Running the weike commands: the project and its plugins, the check, the build's pipeline, the
executor, progress, each course's isolation, and the other commands (``new``, ``doctor``,
``cache``). The top of the core: it may import every other part; none imports it.
"""
