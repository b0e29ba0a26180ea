"""What every command works on: a repository root, its plugins and the settings they declare.

A command handler gets one :class:`Project`, so no handler re-derives the root, rebuilds the plugin
manager or re-reads ``weike.yml``. ``Project.open(path)`` accepts the repository root, a folder
inside it, or one course folder (``weike check courses/x`` then checks that course only).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from weike.builder.contracts.model import Repository, Setting, WeikeConfig
from weike.builder.repository.centre import CENTRES_DIR
from weike.builder.repository.loading import (
    COURSES_DIR,
    CourseLoader,
    NotACourseRepository,
    is_repository,
    load_config,
    load_repository,
)
from weike.builder.running.plugin_manager import WeikePluginManager, declared_settings, get_plugin_manager


def find_repository_root(path: Path) -> tuple[Path, list[str] | None]:
    """``(root, only)`` for a path given on the command line.

    A folder with ``courses/`` (or ``centres/``) is a repository; a folder inside ``courses/``
    selects that one course of the repository above it.
    """
    path = path.resolve()
    if is_repository(path):
        return path, None
    for parent in path.parents:
        if parent.name == COURSES_DIR and (parent.parent / COURSES_DIR).is_dir():
            course = path.relative_to(parent).parts[0]
            return parent.parent, [course]
        if parent.name == CENTRES_DIR and is_repository(parent.parent):
            return parent.parent, None  # a centre is checked with the courses it names: the whole repository
    raise NotACourseRepository(path)


@dataclass(frozen=True, kw_only=True)
class Project:
    """A course repository as one command sees it.

    ``root`` is the repository (or, outside one, the folder the command was given: then
    ``is_repository`` is false, :meth:`load` raises :class:`NotACourseRepository` and
    :attr:`config` holds the defaults). ``only`` names the one course a course-folder path selected.
    """

    root: Path
    plugin_manager: WeikePluginManager
    only: tuple[str, ...] | None = None
    is_repository: bool = True

    @classmethod
    def open(cls, path: Path | str = ".", *, plugin_manager: WeikePluginManager | None = None,
             require: bool = True, raise_on_error: bool = True) -> Project:
        """The project at ``path``; with ``require=False`` a folder that is no repository is
        accepted (``weike doctor``, ``weike plugins``, ``weike new`` run anywhere)."""
        try:
            root, only = find_repository_root(Path(path))
            found = True
        except NotACourseRepository:
            if require:
                raise
            root, only, found = Path(path).resolve(), None, False
        pm = plugin_manager or get_plugin_manager(root, raise_on_error=raise_on_error)
        return cls(root=root, plugin_manager=pm, only=tuple(only) if only is not None else None, is_repository=found)

    @cached_property
    def settings(self) -> tuple[Setting, ...]:
        """The ``weike.yml`` / ``course.yml`` keys the plugins declared (``weike_settings``)."""
        return declared_settings(self.plugin_manager)

    @cached_property
    def config(self) -> WeikeConfig:
        """``weike.yml`` (defaults where it is silent or missing); its problems are reported by :meth:`load`."""
        if not self.is_repository:
            return WeikeConfig()
        return load_config(self.root, settings=self.settings)[0]

    def load(self, *, course_loader: CourseLoader | None = None) -> Repository:
        """Every course (or the one ``only`` names) and centre, read with the declared settings
        (each course folder by ``course_loader``, see :func:`~weike.builder.repository.loading.load_repository`)."""
        if not self.is_repository:
            raise NotACourseRepository(self.root)
        return load_repository(self.root, only=self.only, settings=self.settings, course_loader=course_loader)
