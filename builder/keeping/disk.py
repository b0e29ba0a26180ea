"""The disk a build writes to (``dist/``, the cache): its faults as true diagnostics.

A full disk, a read-only file system or a folder the user may not write are not the author's
fault, not a plugin's bug and not a broken ``mkdocs.yml``. Wherever outputs or the cache are
written, such an error becomes one of these codes saying what happened and what to do:

* E301 — the disk is full (``ENOSPC``, ``EDQUOT``);
* E302 — the file system is read-only (``EROFS``);
* E303 — no permission to write (or read) there (``EACCES``, ``EPERM``).

ffmpeg reports the same faults only in its error text, and SQLite a full disk only as "database or
disk is full", so those texts are recognised too.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path

from weike.builder.contracts.model import Diagnostic, SourceLocation, repository_path
from weike.builder.keeping.outputs import is_temp_name

_FULL, _READ_ONLY, _DENIED = "E301", "E302", "E303"
_BY_ERRNO = {errno.ENOSPC: _FULL, errno.EDQUOT: _FULL, errno.EROFS: _READ_ONLY,
             errno.EACCES: _DENIED, errno.EPERM: _DENIED}
#: strerror texts (glibc), as ffmpeg prints them after a failed write.
_BY_TEXT = {"No space left on device": _FULL, "Disk quota exceeded": _FULL,
            # SQLite's SQLITE_FULL, which carries no errno.
            "database or disk is full": _FULL,
            "Read-only file system": _READ_ONLY, "Permission denied": _DENIED,
            "Operation not permitted": _DENIED}

_TEXTS = {
    _FULL: ("磁盘已满，无法写入 {where}", "disk full: cannot write {where}",
            "腾出磁盘空间（删除不用的文件，或运行 weike cache prune），或把 dist/ 和缓存（环境变量 WEIKE_CACHE_DIR）"
            "放到空间更大的磁盘上，然后重新构建。已经发布的网站、上传包和汇总表保持上次的版本。"),
    _READ_ONLY: ("文件系统是只读的，无法写入 {where}", "read-only file system: cannot write {where}",
                 "把仓库复制到可写的位置再构建，或以可写方式重新挂载这个磁盘；缓存可以用环境变量 WEIKE_CACHE_DIR "
                 "放到可写的目录。已经发布的输出没有改动。"),
    _DENIED: ("没有权限读写 {where}", "permission denied on {where}",
              "用有权限的用户运行 weike build，或修改这个位置的所有者或权限（ls -ld 查看，chown/chmod 修改）。"),
}


def _is_temp(name: str) -> bool:
    """weike's temp names (:func:`weike.builder.keeping.outputs.temp_name`), and the site's older
    ``.<folder>-tmp-…`` folders."""
    return is_temp_name(name) or (name.startswith(".") and "-tmp-" in name)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _recognise(error: BaseException) -> tuple[str, str | None] | None:
    """(code, the path that could not be written or None) when ``error`` is a disk fault."""
    for cause in _causes(error):
        if isinstance(cause, OSError) and cause.errno in _BY_ERRNO:
            return _BY_ERRNO[cause.errno], cause.filename if isinstance(cause.filename, str) else None
    for cause in _causes(error):
        text = " ".join(str(part) for part in (cause, getattr(cause, "detail", ""), getattr(cause, "stderr_tail", ""))
                        if part)
        for needle, code in _BY_TEXT.items():
            if needle in text:
                return code, None
    return None


def disk_fault(error: BaseException, *, root: Path, writing: Path | None = None,
               location: SourceLocation | None = None) -> Diagnostic | None:
    """The diagnostic for ``error`` when it is a disk fault, else None (then it is something else).

    ``writing`` = what was being written (named when the error does not say); ``location`` =
    where to report it (default: the path that could not be written, relative to ``root``).
    """
    found = _recognise(error)
    if found is None:
        return None
    code, filename = found
    path = Path(filename) if filename else writing
    if path is not None and writing is not None and any(_is_temp(part) for part in Path(path).parts):
        # A temp name (``dist/.site-tmp-x1y2``, ``.tmp-…``) means nothing to the reader: name
        # what it was going to become.
        path = writing
    where = repository_path(Path(path), root) if path is not None else "dist/"
    message, message_en, hint = _TEXTS[code]
    return Diagnostic.error(code, location or SourceLocation(file=where),
                            message.format(where=where), message_en.format(where=where), hint=hint)
