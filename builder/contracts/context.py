"""What a build stage is given (:class:`BuildContext`) and what it gives back (:class:`StageOutcome`)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from weike.builder.contracts.model import DeliveredMedia, Diagnostic, WeikeConfig, repository_path

if TYPE_CHECKING:
    import pluggy

    from weike.builder.running.progress import Progress

#: Environment variable that moves the media cache (CI keeps it between runs).
CACHE_DIR_ENV = "WEIKE_CACHE_DIR"
#: An output stage's name: a word on the command line and in the summary.
OUTPUT_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True, kw_only=True)
class BuildPaths:
    """Where a build reads and writes. Outputs live under ``dist/``; the cache outlives it."""

    root: Path
    dist: Path
    cache: Path

    @classmethod
    def for_root(cls, root: Path, *, dist: Path | None = None, cache: Path | None = None) -> BuildPaths:
        root = root.resolve()
        env_cache = os.environ.get(CACHE_DIR_ENV)
        return cls(
            root=root,
            dist=(dist or root / "dist").resolve(),
            cache=(cache or (Path(env_cache) if env_cache else root / ".weike" / "cache")).resolve(),
        )

    @property
    def media(self) -> Path:
        return self.dist / "media"

    @property
    def site(self) -> Path:
        return self.dist / "site"

    @property
    def bundles(self) -> Path:
        return self.dist / "bundles"

    @property
    def reports(self) -> Path:
        return self.dist / "reports"

    def shown(self, path: Path) -> str:
        """``path`` as a summary line shows it: relative to the repository when inside it."""
        return repository_path(Path(path), self.root)


class AlreadyMade(Exception):
    """A product was made a second time in one build: some stage remade what an earlier one made."""


class Made:
    """What the stages of one build made so far, handed forward as values (mkdocs' ``files`` to
    ``nav``): each product by its kind (named by the plugin that makes it, e.g. ``notes``) and
    its key (e.g. ``Lecture.key``).

    A product is added once, by the stage that makes it, and read by any later stage; adding the
    same kind and key twice raises :class:`AlreadyMade`, so a product is never quietly remade. A
    later stage that finds nothing under a key (a command that did not run the earlier stage, such
    as ``weike serve``'s preview) makes the product itself.

    Products taken back from an earlier build (the course memo's) may be added *later*
    (:meth:`add_later`): their kinds and keys now, their values read back only when a stage first
    asks for one of them (:meth:`get`, :meth:`of`, :meth:`products`), in the order they were added.
    """

    def __init__(self, *, handed_on: bool = True) -> None:
        #: Later stages will read what is made here (``weike build``); ``False`` for a check alone
        #: (``weike check``, ``weike serve``), where a rule need not make what only they would use.
        self.handed_on = handed_on
        self._kinds: dict[str, dict[str, object]] = {}
        #: kind -> key -> the products added later that hold it, not read back yet (its place in
        #: ``_kinds`` holds :data:`_NOT_READ_YET` meanwhile, so the order of adding stays).
        self._later: dict[str, dict[str, LaterProducts]] = {}
        self._lock = threading.RLock()

    def add(self, kind: str, key: str, value: object) -> None:
        with self._lock:
            products = self._kinds.setdefault(kind, {})
            if key in products:
                raise AlreadyMade(f"{kind} {key!r} was already made in this build")
            products[key] = value

    def add_later(self, products: LaterProducts) -> None:
        """Add ``products`` (their kinds and keys: ``products.keys``), each value read back from
        them only when a stage first asks for it or another of theirs. A value that cannot be read
        back then is not there, as if never made: the stage that needs it makes it itself."""
        with self._lock:
            for kind, key in products.keys:
                held = self._kinds.setdefault(kind, {})
                if key in held:
                    raise AlreadyMade(f"{kind} {key!r} was already made in this build")
                held[key] = _NOT_READ_YET
                self._later.setdefault(kind, {})[key] = products

    def _read_back(self, products: LaterProducts) -> None:
        """Put the values of ``products`` (added later) in their places (under the lock)."""
        values = {(kind, key): value for kind, key, value in products.read()}
        for kind, key in products.keys:
            if self._later.get(kind, {}).pop(key, None) is not products:
                continue
            if (kind, key) in values:
                self._kinds[kind][key] = values[kind, key]
            else:  # not readable after all: not made
                del self._kinds[kind][key]

    def _read_back_kind(self, kind: str | None) -> None:
        """Read back every product added later of ``kind`` (None: of every kind)."""
        kinds = list(self._later) if kind is None else [kind]
        for name in kinds:
            while self._later.get(name):
                self._read_back(next(iter(self._later[name].values())))

    def keep_new(self, other: Made) -> None:
        """Add what ``other`` made that this one has not (a check asked again plugin by plugin)."""
        with self._lock:
            for kind, key, value in other.products():
                self._kinds.setdefault(kind, {}).setdefault(key, value)

    def products(self) -> list[tuple[str, str, object]]:
        """Everything made so far, as ``(kind, key, value)`` in the order of making (per kind)."""
        with self._lock:
            self._read_back_kind(None)
            return [(kind, key, value) for kind, products in self._kinds.items() for key, value in products.items()]

    def of(self, kind: str) -> Mapping[str, object]:
        """Every product of ``kind`` made so far, by key (read-only)."""
        with self._lock:
            self._read_back_kind(kind)
            return MappingProxyType(self._kinds.get(kind, {}))

    def get(self, kind: str, key: str) -> object | None:
        value = self._kinds.get(kind, {}).get(key)
        if value is _NOT_READ_YET:
            with self._lock:
                later = self._later.get(kind, {}).get(key)
                if later is not None:
                    self._read_back(later)
                value = self._kinds.get(kind, {}).get(key)
        return value


#: The place of a product added later, until it is read back (never handed out).
_NOT_READ_YET = object()


class LaterProducts:
    """Products ``(kind, key, value)`` whose kinds and keys are known before their values are read
    (:meth:`Made.add_later`): ``keys`` lists ``(kind, key)``; :meth:`read` gives the products
    (those it could read back; none at all when it cannot read them)."""

    keys: tuple[tuple[str, str], ...]

    def read(self) -> Iterable[tuple[str, str, object]]:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class BuildContext:
    """Everything a stage needs besides the courses: settings, paths, plugins, progress, and how
    many jobs the shared executor (:mod:`weike.builder.running.executor`) may run, and where."""

    config: WeikeConfig
    paths: BuildPaths
    plugin_manager: pluggy.PluginManager
    progress: Progress
    #: Parallel jobs for the media stage (already resolved from --jobs / weike.yml / CPU count).
    jobs: int = 1
    #: Dask scheduler address, or None for the local pool.
    scheduler: str | None = None
    #: ``weike build --force``: every stage redoes its work instead of trusting what it wrote
    #: before, and cached files are re-hashed (a damaged entry is made again).
    force: bool = False
    #: Courses to take out of every output on purpose (``--drop-stale``): they failed now, and
    #: their last good version is not kept; a bundle target removes their zips.
    dropped: frozenset[str] = frozenset()
    #: Slug -> the key of the course's folder as the check read it
    #: (:attr:`weike.builder.running.checking.CheckResult.course_keys`): a stage that remembers
    #: what it made from a course under this key may take it back while the key is the same (the
    #: folder's every entry and the check's context unchanged, so the course is the same value).
    #: Only for courses given to the stage as loaded now (not a failed course's last good version).
    course_keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Courses given to a publishing stage as their last good version (they failed now and stay
    #: published, W304): what such a course carries is that version's, not its folder's as it is now.
    stale: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class StageOutcome:
    """What a stage did: problems found (by location), files written, media delivered.

    A stage reports a course it could not finish through an error diagnostic located in that
    course's folder; later stages then leave the course out.
    """

    diagnostics: tuple[Diagnostic, ...] = ()
    outputs: tuple[Path, ...] = ()
    delivered: Mapping[str, DeliveredMedia] = field(default_factory=lambda: MappingProxyType({}))
    #: Short human lines for the end-of-build summary ("12 lectures delivered, 3 from cache").
    summary: tuple[str, ...] = ()

    @staticmethod
    def merge(outcomes: Iterable[StageOutcome | None]) -> StageOutcome:
        diagnostics: list[Diagnostic] = []
        outputs: list[Path] = []
        delivered: dict[str, DeliveredMedia] = {}
        summary: list[str] = []
        for outcome in outcomes:
            if outcome is None:
                continue
            diagnostics.extend(outcome.diagnostics)
            outputs.extend(outcome.outputs)
            delivered.update(outcome.delivered)
            summary.extend(outcome.summary)
        return StageOutcome(diagnostics=tuple(diagnostics), outputs=tuple(outputs),
                            delivered=MappingProxyType(delivered), summary=tuple(summary))


@dataclass(frozen=True, kw_only=True)
class OutputStage:
    """One kind of output ``weike build`` makes, declared by the plugin that makes it
    (``weike_output_stages``); ``weike build --only <name>`` writes just it and what it ``needs``.

    Exactly one of ``hook`` and ``make`` says who makes it: ``hook`` names a core stage hook
    (``weike_site_stage``: the first plugin to answer, or every one for a non-firstresult hook),
    ``make`` is the declaring plugin's own function, called with the keywords ``context``,
    ``courses``, ``delivered``, ``centres`` and ``made`` and returning a :class:`StageOutcome`.
    """

    #: The word ``--only`` takes and the summary names (``site``, ``xapi``): lowercase, hyphens.
    name: str
    #: How the progress display heads the stage, Chinese then English (``网站 site``).
    title: str
    hook: str | None = None
    make: Callable[..., StageOutcome | None] | None = None
    #: Other stages this output is made from; ``--only`` runs them first (``("media",)``).
    needs: tuple[str, ...] = ()
    #: It covers every course of the repository (the catalogue, the province's table): a build of
    #: one course folder skips it, which would otherwise drop every other course.
    whole_repository: bool = False
    #: It delivers the lectures' media (``StageOutcome.delivered``), which every later stage is
    #: handed; it sees the lectures of failing courses that are fine. The others publish courses.
    delivers_media: bool = False

    def __post_init__(self) -> None:
        if not OUTPUT_NAME_RE.match(self.name):
            raise ValueError(f"output stage name {self.name!r} must be lowercase letters, digits and hyphens")
        if (self.hook is None) == (self.make is None):
            raise ValueError(f"output stage {self.name!r} needs exactly one of hook= and make=")

    @property
    def publishes(self) -> bool:
        """It publishes courses (a failing course stands in there with its last good version)."""
        return not self.delivers_media
