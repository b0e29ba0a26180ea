"""Building the plugin manager: built-ins, then installed packages, then the repository's own.

Discovery order (later plugins run first in pluggy, so a repository's own plugin can take over a
``firstresult`` hook from a built-in):

1. built-in plugins (the modules in :data:`BUILTIN_PLUGINS`, imported by name);
2. third-party packages that declare an entry point in the ``weike`` group;
3. ``*.py`` files in the repository's ``plugins/`` folder.

A plugin that fails to import or declares a hook wrongly does not abort discovery: every failure
is collected and raised together as :class:`PluginLoadError`, naming each plugin and its origin.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pluggy

from builder import hookspecs

ENTRY_POINT_GROUP = "weike"
LOCAL_PLUGINS_DIR = "plugins"
_LOCAL_MODULE_PREFIX = "weike_local_plugins"

#: Built-in behaviour, registered exactly like external plugins (by module name, so ``builder``
#: never imports ``plugins`` statically).
BUILTIN_PLUGINS: tuple[str, ...] = (
    "plugins.course_rules",
    # media stage (issue 3)
    "plugins.media",
    # Bundles and reports (issue 5): the stage, one module per target, the province summary table.
    "plugins.bundles",
    "plugins.bundle_smartedu",
    "plugins.bundle_ouchn",
    "plugins.bundle_scorm",
    "plugins.province_report",
    # Brand learning centres and the province's complete submission (issue 13): the rules, then
    # 附件4 (DOCX per centre), 附件5 and dist/submission.
    "plugins.centre_rules",
    "plugins.submission",
    # --- site stage (catalogue website, weike serve) ---
    "plugins.site",
)


@dataclass(frozen=True, kw_only=True)
class PluginRecord:
    """A plugin that was loaded (or failed to): for ``weike plugins`` and error messages."""

    name: str
    origin: str
    location: str
    hooks: tuple[str, ...] = ()
    error: str | None = None
    #: Why a found plugin was deliberately not registered.
    skipped: str | None = None


class PluginLoadError(Exception):
    """One or more plugins could not be loaded; ``failures`` names each one."""

    def __init__(self, failures: Sequence[PluginRecord]) -> None:
        self.failures = tuple(failures)
        super().__init__("; ".join(f"{f.name} ({f.origin}): {f.error}" for f in self.failures))


class WeikePluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers where each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.records: list[PluginRecord] = []

    def register_plugin(self, plugin: object, *, name: str, origin: str, location: str) -> PluginRecord:
        """Register ``plugin`` and record it; failures are recorded, not raised."""
        try:
            self.register(plugin, name=name)
            record = PluginRecord(name=name, origin=origin, location=location,
                                  hooks=tuple(sorted(h.name for h in self.get_hookcallers(plugin) or ())))
        except (pluggy.PluginValidationError, ValueError) as exc:
            if self.is_registered(plugin):
                self.unregister(plugin)
            record = PluginRecord(name=name, origin=origin, location=location, error=_describe(exc))
        self.records.append(record)
        return record

    def record_failure(self, *, name: str, origin: str, location: str, exc: BaseException) -> None:
        self.records.append(PluginRecord(name=name, origin=origin, location=location, error=_describe(exc)))

    @property
    def failures(self) -> list[PluginRecord]:
        return [record for record in self.records if record.error]


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _module_file(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _load_local_module(path: Path) -> ModuleType:
    name = f"{_LOCAL_MODULE_PREFIX}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def get_plugin_manager(
    root: Path | None = None,
    *,
    builtins: Iterable[str] = BUILTIN_PLUGINS,
    entry_points: bool = True,
    extra: Iterable[object] = (),
    raise_on_error: bool = True,
) -> WeikePluginManager:
    """A fresh plugin manager with every plugin discovered for the repository at ``root``.

    ``extra`` registers plugin objects directly (tests). With ``raise_on_error`` (the default),
    any failure raises :class:`PluginLoadError` after discovery has tried every plugin.
    """
    pm = WeikePluginManager()
    loaded_files: set[Path] = set()

    for module_name in builtins:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a broken built-in is reported like any other plugin
            pm.record_failure(name=module_name, origin="built-in", location=module_name, exc=exc)
            continue
        if (file := _module_file(module)) is not None:
            loaded_files.add(file)
        pm.register_plugin(module, name=module_name, origin="built-in", location=str(file or module_name))

    if entry_points:
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep.dist, "name", None) or "?"
            origin = f"entry point ({dist})"
            try:
                plugin = ep.load()
            except Exception as exc:
                pm.record_failure(name=ep.name, origin=origin, location=ep.value, exc=exc)
                continue
            if isinstance(plugin, ModuleType) and _module_file(plugin) in loaded_files:
                continue
            pm.register_plugin(plugin, name=ep.name, origin=origin, location=ep.value)

    if root is not None:
        local_dir = Path(root) / LOCAL_PLUGINS_DIR
        if local_dir.is_dir():
            builtin_stems = {name.rpartition(".")[2] for name in builtins}
            for path in sorted(local_dir.glob("*.py")):
                if path.name.startswith("_") or path.resolve() in loaded_files:
                    continue  # weike's own source tree: its plugins are the built-ins above
                rel = f"{LOCAL_PLUGINS_DIR}/{path.name}"
                if path.stem in builtin_stems:
                    # A copy of weike's tree (a county's fork): the installed built-in of that name
                    # already runs; loading the copy too would run every hook twice.
                    pm.records.append(PluginRecord(name=path.stem, origin="local", location=rel,
                                                   error=None, hooks=(), skipped="same name as a built-in plugin"))
                    continue
                try:
                    module = _load_local_module(path)
                except Exception as exc:
                    pm.record_failure(name=path.stem, origin="local", location=rel, exc=exc)
                    continue
                pm.register_plugin(module, name=f"local:{path.stem}", origin="local", location=rel)

    for plugin in extra:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        pm.register_plugin(plugin, name=name, origin="extra", location=repr(plugin))

    # A hook implementation whose name matches no spec (a typo such as ``weike_chek_course``)
    # would otherwise never run; check_pending names one offender per call.
    while True:
        try:
            pm.check_pending()
            break
        except pluggy.PluginValidationError as exc:
            plugin_name = pm.get_name(exc.plugin) or repr(exc.plugin)
            for index, record in enumerate(pm.records):
                if record.name == plugin_name:
                    pm.records[index] = PluginRecord(name=record.name, origin=record.origin,
                                                     location=record.location, error=_describe(exc))
            pm.unregister(exc.plugin)

    if raise_on_error and pm.failures:
        raise PluginLoadError(pm.failures)
    return pm
