"""Reading a course repository: YAML with file:line, the courses and lectures, the centres, and the
JSON Schemas editors check those files with. Imports only :mod:`weike.builder.contracts`.
"""
