"""What a build stage is given (:class:`BuildContext`) and what it gives back (:class:`StageOutcome`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from weike.builder.model import DeliveredMedia, Diagnostic, WeikeConfig, repository_path

if TYPE_CHECKING:
    import pluggy

    from weike.builder.progress import Progress

#: Environment variable that moves the media cache (CI keeps it between runs).
CACHE_DIR_ENV = "WEIKE_CACHE_DIR"


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


@dataclass(frozen=True, kw_only=True)
class BuildContext:
    """Everything a stage needs besides the courses: settings, paths, plugins, progress, and how
    many jobs the shared executor (:mod:`weike.builder.executor`) may run, and where."""

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
