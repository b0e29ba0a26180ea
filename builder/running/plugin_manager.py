"""Building the plugin manager: built-ins, then installed packages, then the repository's own.

Discovery order (later plugins run first in pluggy, so a repository's own plugin can take over a
``firstresult`` hook from a built-in):

1. built-in plugins (the modules in :data:`BUILTIN_PLUGINS`, imported by name);
2. third-party packages that declare an entry point in the ``weike`` group;
3. ``*.py`` files in the repository's ``plugins/`` folder, imported as modules of one package,
   ``weike_repo_plugins``, so they can share helpers (``from ._shared import x``: files whose name
   starts with ``_`` are helpers, not plugins). A file named like a built-in (``plugins/media.py``)
   is a plugin of its own and runs beside the built-in.

Capabilities add hook specifications of their own (the media plugin's ``weike_media_profiles``,
the bundle stage's ``weike_bundle_targets``) through ``weike_add_hookspecs``, the way pytest
plugins use ``pytest_addhooks``.

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

from weike.builder.contracts import hookspecs
from weike.builder.contracts.settings import WEIKE_YML, Setting
from weike.builder.repository.loading import CONFIG_KEYS, COURSE_KEYS

ENTRY_POINT_GROUP = "weike"
LOCAL_PLUGINS_DIR = "plugins"
#: The package a repository's ``plugins/`` folder is imported as: a name no installed package takes.
LOCAL_PACKAGE = "weike_repo_plugins"

#: Built-in behaviour, registered exactly like external plugins (by module name, so the core
#: never imports ``weike.plugins``). One module per hook implementation set, in build order; the
#: hook specs name these modules, and docs/plugins.md maps every stage to one of them.
BUILTIN_PLUGINS: tuple[str, ...] = (
    # check: authoring rules (courses), the province's rules (centres, weike.yml's province facts)
    "weike.plugins.rules.courses",
    "weike.plugins.province.centres",
    # media: ffmpeg delivery, profiles, title cards, weike probe
    "weike.plugins.media",
    # site: the catalogue, its offline edition, weike serve
    "weike.plugins.site",
    # records: xAPI statements from the pages, the station's store, weike records
    "weike.plugins.records",
    # bundles: the stage, then one target per module (SCORM, the two national platforms)
    "weike.plugins.bundles",
    "weike.plugins.scorm",
    "weike.plugins.national.smartedu",
    "weike.plugins.national.ouchn",
    # reports: the province summary table (附件3), then 附件4/5 and dist/submission
    "weike.plugins.province.summary_table",
    "weike.plugins.province",
    # operations: weike edit, the browser editor
    "weike.plugins.editor",
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
        # Every plugin registered from now on may add hook specs of its own (historic: a plugin
        # registered later is still asked).
        self.hook.weike_add_hookspecs.call_historic(kwargs={"plugin_manager": self})

    def parse_hookimpl_opts(self, plugin: object, name: str):
        # A module's hooks are functions defined in it. Names it only lists (``__dir__``) and hands
        # out on first use (``__getattr__``, a plugin keeping registration light) are no hooks:
        # pluggy before 1.7 asks for every listed name, which imported each one's module.
        if isinstance(plugin, ModuleType) and name not in vars(plugin):
            return None
        return super().parse_hookimpl_opts(plugin, name)

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


def _local_package(folder: Path) -> ModuleType:
    """The repository's ``plugins/`` folder as the package :data:`LOCAL_PACKAGE` (without running
    an ``__init__.py``: the folder may be weike's own source tree)."""
    package = sys.modules.get(LOCAL_PACKAGE)
    if package is None or list(getattr(package, "__path__", ())) != [str(folder)]:
        package = ModuleType(LOCAL_PACKAGE, f"a repository's plugins/ folder ({folder})")
        package.__path__ = [str(folder)]
        package.__file__ = None
        for name in [name for name in sys.modules if name.startswith(f"{LOCAL_PACKAGE}.")]:
            del sys.modules[name]  # another repository's plugins (tests open many)
        sys.modules[LOCAL_PACKAGE] = package
    return package


def _load_local_module(path: Path) -> ModuleType:
    _local_package(path.parent)
    name = f"{LOCAL_PACKAGE}.{path.stem}"
    if name in sys.modules:  # already imported as another plugin's helper
        return sys.modules[name]
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
            file = _module_file(plugin) if isinstance(plugin, ModuleType) else None
            if file is not None and file in loaded_files:
                continue
            if file is not None:
                loaded_files.add(file)
            pm.register_plugin(plugin, name=ep.name, origin=origin, location=ep.value)

    if root is not None:
        local_dir = Path(root) / LOCAL_PLUGINS_DIR
        if local_dir.is_dir():
            for path in sorted(local_dir.glob("*.py")):
                if path.name.startswith("_"):
                    continue  # a helper the plugins import (or weike's own package __init__)
                rel = f"{LOCAL_PLUGINS_DIR}/{path.name}"
                if path.resolve() in loaded_files:
                    # A repository that is also installed (pip install -e) and declares this file
                    # as an entry point: it already runs; loading it again would run every hook twice.
                    pm.records.append(PluginRecord(name=path.stem, origin="local", location=rel,
                                                   skipped="this file is already loaded as an installed plugin"))
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


class SettingConflict(PluginLoadError):
    """A ``weike.yml`` key declared by two plugins, or by a plugin and the core: one of them would
    silently win. ``str()`` is one line naming the key and both owners of each conflict."""

    def __str__(self) -> str:
        return "; ".join(failure.error or "" for failure in self.failures)


def declared_settings(pm: pluggy.PluginManager) -> tuple[Setting, ...]:
    """Every plugin's ``weike_settings``; a key declared twice in one file, or one the core reads,
    is a :class:`SettingConflict` naming the key and both declarers."""
    owners: dict[tuple[str, str], str] = {(WEIKE_YML, key): "weike (core)" for key in (*CONFIG_KEYS, *COURSE_KEYS)}
    settings: list[Setting] = []
    failures: list[PluginRecord] = []
    for impl in reversed(pm.hook.weike_settings.get_hookimpls()):
        for setting in impl.function() or ():
            place = (setting.file, setting.name)
            if place in owners:
                failures.append(PluginRecord(
                    name=impl.plugin_name, origin="settings", location=setting.name,
                    error=f"the setting '{setting.name}' is declared by {owners[place]} "
                          f"and by {impl.plugin_name}"))
                continue
            owners[place] = impl.plugin_name
            settings.append(setting)
    if failures:
        raise SettingConflict(failures)
    return tuple(settings)
