"""Public names a plugin package hands out on first use, so that registering it stays light.

Every weike command registers every plugin, the no-change rebuild among them; a package whose
``__init__`` imported the modules behind its public names would import its stages' code (ffmpeg's
runner, Pillow, an HTTP server) for commands that use none of it. Such a package declares its
public names and takes the two module functions from :func:`lazy_names`::

    __getattr__, __dir__ = lazy_names(__name__, {"run_ffmpeg": ("runner", "run"), "SitePage": "contributed"})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_names(package: str, names: Mapping[str, tuple[str, str] | str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package``'s ``__init__``: each of ``names`` (public name ->
    ``(module of the package, its name there)``, or the module alone when the name is the same) is
    imported from its module the first time it is asked for, then kept as the package's own."""

    def __getattr__(name: str):
        """A public name, from the module that defines it (imported now, the first time)."""
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        target = names[name]
        module, attribute = target if isinstance(target, tuple) else (target, name)
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
