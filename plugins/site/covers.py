"""Cover thumbnails for the catalogue's cards: small JPEGs, made once per distinct cover.

Authors drop in phone photos of several megabytes; a card on a slow rural link needs tens of
kilobytes. Thumbnails are cached by the SHA-256 of the source bytes, so a rebuild (or a second
course with the same picture) costs a hash, not a decode.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from builder.cache import CacheItem, CachePart, sha256_file
from builder.outputs import write_atomic

#: Card images are shown at most ~21 rem wide; 640 px covers a 2x phone screen.
THUMBNAIL_WIDTH = 640
THUMBNAIL_QUALITY = 80


class CoverError(Exception):
    """A cover could not be turned into a thumbnail (unreadable or not an image)."""


@dataclass(frozen=True, kw_only=True)
class Thumbnail:
    path: Path
    width: int
    height: int
    #: Hash of the source bytes: part of the site's input hash.
    source_sha256: str


class CoverCache:
    """Thumbnails by source hash, and a (path, size, mtime) memo so unchanged covers are not re-read."""

    MEMO_FILE = "memo.json"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._memo_path = folder / self.MEMO_FILE
        try:
            self._memo: dict[str, list] = json.loads(self._memo_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._memo = {}
        self._dirty = False

    def digest(self, source: Path) -> str:
        """SHA-256 of ``source``, from the memo while its size and mtime are unchanged."""
        try:
            stat = source.stat()
            key = str(source)
            known = self._memo.get(key)
            if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
                return known[2]
            digest = sha256_file(source)
        except OSError as exc:
            raise CoverError(f"{type(exc).__name__}: {exc}") from exc
        self._memo[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self._dirty = True
        return digest

    def thumbnail(self, source: Path) -> Thumbnail:
        return make_thumbnail(source, self.folder, digest=self.digest(source))

    def forget_missing(self) -> None:
        """Drop remembered hashes of cover files that are gone."""
        gone = [path for path in self._memo if not Path(path).is_file()]
        for path in gone:
            del self._memo[path]
        self._dirty = self._dirty or bool(gone)

    def save(self) -> None:
        if self._dirty:
            write_atomic(self._memo_path, json.dumps(self._memo).encode("utf-8"))
            self._dirty = False


def make_thumbnail(source: Path, cache: Path, *, digest: str) -> Thumbnail:
    """The cached thumbnail of ``source``, whose bytes hash to ``digest`` (made now if missing);
    raises :class:`CoverError`."""
    target = cache / f"{digest[:2]}/{digest}-{THUMBNAIL_WIDTH}.jpg"
    if target.is_file():
        try:
            with Image.open(target) as done:
                return Thumbnail(path=target, width=done.width, height=done.height, source_sha256=digest)
        except (UnidentifiedImageError, OSError):
            pass  # a damaged cache entry is simply made again
    try:
        with Image.open(source) as image:
            # Decode a JPEG at a reduced scale straight away: 4-8x faster than a full decode.
            image.draft("RGB", (THUMBNAIL_WIDTH, THUMBNAIL_WIDTH))
            image = ImageOps.exif_transpose(image).convert("RGB")
            if image.width > THUMBNAIL_WIDTH:
                height = max(1, round(image.height * THUMBNAIL_WIDTH / image.width))
                image = image.resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jpg")
            try:
                with os.fdopen(fd, "wb") as handle:
                    image.save(handle, "JPEG", quality=THUMBNAIL_QUALITY, optimize=True, progressive=True)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            return Thumbnail(path=target, width=image.width, height=image.height, source_sha256=digest)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CoverError(f"{type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------------------------
# `weike cache` (issue 6): which thumbnails the current courses still use
# --------------------------------------------------------------------------------------------

#: A temp file this old was left by a killed build (a thumbnail takes well under a second).
_STALE_TEMP_SECONDS = 3600


class CoversPart(CachePart):
    """The thumbnail cache: a thumbnail is needed while a current course's cover has its hash."""

    def __init__(self, folder: Path, covers: list[Path], *, name: str, title: str) -> None:
        super().__init__(name=name, title=title, path=folder)
        self._covers = covers

    def items(self) -> list[CacheItem]:
        if not self.path.is_dir():
            return []
        cache = CoverCache(self.path)
        wanted = set()
        for cover in self._covers:
            try:
                wanted.add(f"{cache.digest(cover)}-{THUMBNAIL_WIDTH}.jpg")
            except CoverError:
                continue  # unreadable now: the site build reports it (E4xx), nothing here to keep
        items = []
        for file in sorted(self.path.glob("*/*")):
            if not file.is_file():
                continue
            size = file.stat().st_size
            if file.name.startswith(".tmp-"):
                needed = time.time() - file.stat().st_mtime < _STALE_TEMP_SECONDS
            else:
                needed = file.name in wanted
            items.append(CacheItem(name=file.relative_to(self.path.parent).as_posix(), size=size, needed=needed,
                                   path=file))
        return items

    def after_prune(self) -> None:
        """Forget the hashes of covers that no longer exist, so the memo does not grow forever."""
        cache = CoverCache(self.path)
        cache.forget_missing()
        cache.save()
