"""What the cache holds: ``weike cache info|prune``.

Each plugin describes the parts of the cache it made (weike_cache_parts); a part lists its items,
each marked as needed by the current courses or not. Prune removes only items that are not needed,
each one so that it vanishes in one step (an entry folder is renamed to a temp name first, then
deleted), so a prune that is killed never leaves half an entry behind.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from weike.builder.keeping.memo import FileMemo
from weike.builder.keeping.store import ContentStore, remove_path

@dataclass(frozen=True, kw_only=True)
class CacheItem:
    """One thing in the cache that can go on its own: an entry folder, a file, a remembered fact."""

    #: How it is shown: a path relative to the cache, or a description.
    name: str
    size: int
    #: The current courses use it (or it belongs to a build that is running): never pruned.
    needed: bool
    #: The file or folder that is the item, when it is one (a memo row is not).
    path: Path | None = None
    #: Whatever else the part needs to remove it (a memo row's kind and path).
    ref: object = None


class CachePart:
    """A part of the build cache, described by the plugin that writes it.

    Subclasses list their :meth:`items` and may override :meth:`remove` (the default deletes
    each item's file or folder) and :meth:`after_prune` (e.g. compact a database).
    """

    def __init__(self, *, name: str, title: str, path: Path, note: str = "") -> None:
        #: Short identifier: ``media``, ``media-memo``, ``site-covers``...
        self.name = name
        #: What it is, for people: "转码结果 (transcoded media)".
        self.title = title
        self.path = Path(path)
        #: Something to say about it (e.g. why nothing in it can be judged now).
        self.note = note

    def items(self) -> list[CacheItem]:
        raise NotImplementedError

    def size(self) -> int:
        """Bytes the part takes on disk."""
        return sum(tree_size(path) for path in self.claims())

    def claims(self) -> list[Path]:
        """Files and folders of the cache that belong to this part (for "unclaimed" reporting)."""
        return [self.path]

    def remove(self, items: list[CacheItem]) -> None:
        for item in items:
            if item.path is not None:
                remove_path(item.path)

    def after_prune(self) -> None:
        """Called once after :meth:`remove` (when anything was removed)."""



def tree_size(path: Path) -> int:
    """Bytes used by the files of ``path`` (a file or a folder tree); 0 when it is gone."""
    path = Path(path)
    try:
        if not path.is_dir():
            return path.stat().st_size
    except OSError:
        return 0
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


class StorePart(CachePart):
    """A :class:`ContentStore`: an item per entry (needed when its key is), plus dead builds' temps."""

    def __init__(self, store: ContentStore, *, needed_keys: set[str] | None, name: str, title: str,
                 note: str = "") -> None:
        super().__init__(name=name, title=title, path=store.root, note=note)
        self.store = store
        #: None = cannot tell which entries are needed now: every entry is kept.
        self.needed_keys = needed_keys

    def items(self) -> list[CacheItem]:
        items = []
        for key, folder in self.store.entries():
            needed = self.needed_keys is None or key in self.needed_keys
            items.append(CacheItem(name=folder.relative_to(self.path.parent).as_posix(), size=tree_size(folder),
                                   needed=needed, path=folder))
        for temp, alive in self.store.temps():
            items.append(CacheItem(name=temp.relative_to(self.path.parent).as_posix(), size=tree_size(temp),
                                   needed=alive, path=temp))
        return items


class MemoPart(CachePart):
    """A :class:`FileMemo`: an item per remembered fact; facts about files that are gone or changed can go."""

    def __init__(self, memo_path: Path, *, name: str, title: str) -> None:
        super().__init__(name=name, title=title, path=memo_path)

    def claims(self) -> list[Path]:
        return [self.path, *(self.path.with_name(self.path.name + suffix) for suffix in ("-wal", "-shm"))]

    def items(self) -> list[CacheItem]:
        if not self.path.is_file():
            return []
        with FileMemo(self.path) as memo:
            return [CacheItem(name=f"{kind} {path}", size=size, needed=current, ref=(kind, path))
                    for kind, path, size, current in memo.survey()]

    def remove(self, items: list[CacheItem]) -> None:
        with FileMemo(self.path) as memo:
            memo.forget([item.ref for item in items])

    def after_prune(self) -> None:
        with FileMemo(self.path) as memo:
            memo.compact()


class RecordPart(CachePart):
    """Small bookkeeping files (a build stamp, output ledgers): kept while ``needed`` says so.

    Losing one only costs time: the next build redoes the work it would have let it skip.
    """

    def __init__(self, *, name: str, title: str, path: Path, needed=lambda file: True, note: str = "") -> None:
        super().__init__(name=name, title=title, path=path, note=note)
        self.needed = needed

    def items(self) -> list[CacheItem]:
        files = sorted(self.path.iterdir()) if self.path.is_dir() else [self.path] if self.path.exists() else []
        return [CacheItem(name=file.relative_to(self.path.parent).as_posix(), size=tree_size(file),
                          needed=bool(self.needed(file)), path=file) for file in files]


class ScratchPart(CachePart):
    """A folder every run rebuilds from nothing (a work folder, a preview): never needed between runs."""

    def items(self) -> list[CacheItem]:
        if not self.path.exists():
            return []
        return [CacheItem(name=self.path.name, size=tree_size(self.path), needed=False, path=self.path)]
