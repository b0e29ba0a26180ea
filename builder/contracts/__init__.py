"""What plugins program against: the data model, the settings' declarations, the hook specs, the
build's context and the diagnostics' format.

The lowest part of the core: at run time it imports nothing else of weike. (The hook specs name, in
annotations only, the values other parts make: a :class:`~weike.builder.repository.centre.Centre`,
a cache part, a doctor check.)
"""
