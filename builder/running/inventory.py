"""``weike cache info|prune``: what the build cache holds, what the current courses need, pruning the rest.

The cache (``.weike/cache``, or ``$WEIKE_CACHE_DIR``) is written by plugins; each describes its
parts through ``weike_cache_parts``, marking every item as needed by the repository's current
courses or not. ``info`` reports sizes; ``prune`` removes what is not needed, so a build right
after it redoes nothing. Anything in the cache no plugin claims is reported and left alone.

Needed means: by the courses of *this* repository. A cache shared by several repositories
(one ``WEIKE_CACHE_DIR``) loses the other repositories' entries to a prune; they are rebuilt
by their next build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.context import CACHE_DIR_ENV, BuildContext, BuildPaths
from weike.builder.keeping.prune import CacheItem, CachePart, RecordPart, tree_size
from weike.builder.keeping.course_memo import CHECKED_FOLDER
from weike.builder.keeping.publication import INDEX_FILE, PUBLISHED_FOLDER
from weike.builder.keeping.stamp import LISTING_FILE, STAMP_FILE
from weike.builder.repository.loading import COURSES_DIR, load_repository
from weike.builder.running.progress import Progress
from weike.builder.running.project import Project


@dataclass(frozen=True, kw_only=True)
class PartSurvey:
    """One part of the cache, measured."""

    part: CachePart
    size: int
    items: tuple[CacheItem, ...]

    @property
    def needed(self) -> tuple[CacheItem, ...]:
        return tuple(item for item in self.items if item.needed)

    @property
    def unneeded(self) -> tuple[CacheItem, ...]:
        return tuple(item for item in self.items if not item.needed)

    def as_dict(self) -> dict:
        return {
            "name": self.part.name, "title": self.part.title, "path": str(self.part.path), "size": self.size,
            "items": len(self.items), "needed": len(self.needed), "needed_bytes": sum(i.size for i in self.needed),
            "unneeded": len(self.unneeded), "unneeded_bytes": sum(i.size for i in self.unneeded),
            "note": self.part.note,
        }


@dataclass(frozen=True, kw_only=True)
class CacheSurvey:
    """The whole cache of a repository: its parts, and what no plugin claims."""

    root: Path
    #: True when ``$WEIKE_CACHE_DIR`` moved it.
    from_environment: bool
    parts: tuple[PartSurvey, ...]
    unclaimed: tuple[tuple[Path, int], ...]

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts) + sum(size for _, size in self.unclaimed)

    def as_dict(self) -> dict:
        return {
            "cache": str(self.root), "from_environment": self.from_environment, "size": self.size,
            "parts": [part.as_dict() for part in self.parts],
            "unclaimed": [{"path": str(path), "size": size} for path, size in self.unclaimed],
        }


def survey_cache(project: Project) -> CacheSurvey:
    """Measure the cache of ``project``'s repository, against all its current courses."""
    # The whole repository even when a course folder is given: the other courses' entries are
    # needed just as much.
    root, pm = project.root, project.plugin_manager
    repository = load_repository(root, settings=project.settings)
    paths = BuildPaths.for_root(root)
    context = BuildContext(config=repository.config, paths=paths, plugin_manager=pm, progress=Progress())
    parts = [part for found in pm.hook.weike_cache_parts(context=context, repository=repository)
             for part in found or ()]
    parts.append(RecordPart(name="build-stamp", title="上次构建的记录 (the last build's stamp)",
                            path=paths.cache / STAMP_FILE))
    parts.append(RecordPart(name="build-stamp-paths", title="上次构建的输出清单 (the last build's list of outputs)",
                            path=paths.cache / LISTING_FILE))
    # Each course's remembered check: needed while its course folder exists (an entry of a
    # course since changed is only rewritten by the next check).
    parts.append(RecordPart(name="checked", title="每门课程上次检查的结果 (each course's last check)",
                            path=paths.cache / CHECKED_FOLDER,
                            needed=lambda entry: (root / COURSES_DIR / entry.stem).is_dir()))
    # The last good version of each course: needed while its course folder exists (the index of
    # what each was recorded under, always).
    parts.append(RecordPart(name="published", title="已发布课程的上次成功版本 (last good version of published courses)",
                            path=paths.cache / PUBLISHED_FOLDER,
                            needed=lambda folder: folder.name == INDEX_FILE
                            or (root / COURSES_DIR / folder.name).is_dir()))
    surveys = tuple(PartSurvey(part=part, size=part.size(), items=tuple(part.items())) for part in parts)
    claimed = {Path(claim).resolve() for part in parts for claim in part.claims()}
    return CacheSurvey(root=paths.cache, from_environment=bool(os.environ.get(CACHE_DIR_ENV)), parts=surveys,
                       unclaimed=tuple(_unclaimed(paths.cache, claimed)))


def _unclaimed(folder: Path, claimed: set[Path]) -> list[tuple[Path, int]]:
    """Files and folders under ``folder`` that are neither claimed nor hold something claimed."""
    if not folder.is_dir():
        return []
    found = []
    for child in sorted(folder.iterdir()):
        resolved = child.resolve()
        if resolved in claimed:
            continue
        if any(resolved in claim.parents for claim in claimed):
            found.extend(_unclaimed(child, claimed))
        else:
            found.append((child, tree_size(child)))
    return found


def prune_cache(survey: CacheSurvey, *, dry_run: bool = False) -> list[tuple[PartSurvey, tuple[CacheItem, ...]]]:
    """Remove every item no current course needs (nothing with ``dry_run``); what went, by part."""
    removed = []
    for part in survey.parts:
        doomed = part.unneeded
        if not doomed:
            continue
        if not dry_run:
            part.part.remove(list(doomed))
            part.part.after_prune()
        removed.append((part, doomed))
    return removed


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def render_info(survey: CacheSurvey) -> str:
    origin = f"${CACHE_DIR_ENV}" if survey.from_environment else ".weike/cache"
    lines = [f"缓存 cache: {survey.root} ({origin}), {_mb(survey.size)}"]
    for part in survey.parts:
        needed, unneeded = part.needed, part.unneeded
        lines.append(f"  {part.part.title} [{part.part.name}] {_mb(part.size)}: {len(part.items)} 项 items, "
                     f"需要 needed {len(needed)}, 可清理 unreferenced {len(unneeded)} "
                     f"({_mb(sum(item.size for item in unneeded))})")
        if part.part.note:
            lines.append(f"      {part.part.note}")
    for path, size in survey.unclaimed:
        lines.append(f"  不属于 weike 的插件，不会清理 (no plugin's, left alone): {path.relative_to(survey.root)} "
                     f"({_mb(size)})")
    total = [item for part in survey.parts for item in part.unneeded]
    if total:
        lines.append(f"可清理 {len(total)} 项，{_mb(sum(item.size for item in total))} "
                     f"({len(total)} unreferenced item(s)): weike cache prune [--dry-run]")
    else:
        lines.append("没有可清理的内容 (nothing unreferenced)")
    return "\n".join(lines) + "\n"


def render_prune(survey: CacheSurvey, removed, *, dry_run: bool) -> str:
    verb = "将删除 would remove" if dry_run else "已删除 removed"
    lines = []
    count = freed = 0
    for part, items in removed:
        with_paths = [item for item in items if item.path is not None]
        for item in with_paths:
            lines.append(f"{verb} {item.name} ({_mb(item.size)})")
        if len(with_paths) < len(items):
            rest = [item for item in items if item.path is None]
            lines.append(f"{verb} {len(rest)} 条 {part.part.title} [{part.part.name}] "
                         f"({len(rest)} record(s) about files that are gone or changed)")
        count += len(items)
        freed += sum(item.size for item in items)
    if dry_run:
        lines.append(f"演习：{count} 项，{_mb(freed)}，什么都没有删除 (dry run: {count} item(s), {_mb(freed)}, "
                     "nothing removed)")
    else:
        lines.append(f"清理完成：删除 {count} 项，释放 {_mb(freed)} (pruned {count} item(s), freed {_mb(freed)}); "
                     f"缓存现在 {_mb(tree_size(survey.root))} (cache now)")
    return "\n".join(lines) + "\n"


def add_cache_command(subparsers, handler) -> None:
    parser = subparsers.add_parser(
        "cache", help="查看或清理构建缓存 (show or prune the build cache)",
        description="The build cache (.weike/cache, or $WEIKE_CACHE_DIR) keeps delivered media, hashes and probes, "
                    "and cover thumbnails so that unchanged lectures are never redone. 'info' shows its parts, "
                    "their size and what the repository's current courses no longer use; 'prune' removes only "
                    "that, so the next build redoes nothing. With a cache shared by several repositories, "
                    "prune keeps only this repository's entries.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    info = actions.add_parser("info", help="size, entries, and what the current courses no longer use")
    info.add_argument("path", nargs="?", default=".", help="course repository (default: the current folder)")
    info.add_argument("--format", choices=("text", "json"), default="text")
    prune = actions.add_parser("prune", help="remove what the current courses no longer use")
    prune.add_argument("path", nargs="?", default=".", help="course repository (default: the current folder)")
    prune.add_argument("--dry-run", "-n", action="store_true", help="only list what would be removed")
    parser.set_defaults(func=handler)
