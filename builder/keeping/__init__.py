"""Writing and keeping outputs: atomic writes, deterministic zips, the build cache, fingerprints,
the no-change stamp, the last published version of each course, and the disk's faults as
diagnostics. Imports :mod:`weike.builder.contracts` and :mod:`weike.builder.repository` only.
"""
