"""One Git commit per save, with a Chinese message naming the course and the lecture.

The editor commits only the files that save touched (``git commit -- <paths>``), so whatever the
teacher has staged by other means stays staged and out of the editor's commits. A repository that
is not a Git repository, or a machine without Git, is simply not committed to.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from pathlib import Path

import yaml

from weike.builder.repository.loading import split_front_matter

log = logging.getLogger(__name__)
#: The author of a commit when Git knows no user on this machine (teachers rarely set one).
FALLBACK_IDENTITY = ("-c", "user.name=weike 编辑器", "-c", "user.email=editor@weike.invalid")


class GitHistory:
    """Commits to the Git repository that holds ``root``; does nothing where there is none."""

    def __init__(self, root: Path, *, enabled: bool = True) -> None:
        self.root = Path(root)
        self.git = shutil.which("git") if enabled else None
        self._identity: tuple[str, ...] = ()
        #: Git takes one index lock: saves arriving together are committed one after the other.
        self._committing = threading.Lock()
        self.enabled = bool(self.git) and self._run("rev-parse", "--is-inside-work-tree").returncode == 0
        if self.enabled and self._run("var", "GIT_AUTHOR_IDENT").returncode != 0:
            self._identity = FALLBACK_IDENTITY

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        if not self.git:
            return subprocess.CompletedProcess(args, 1, "", "")
        return subprocess.run([self.git, *self._identity, *args],
                              cwd=self.root, capture_output=True, text=True, encoding="utf-8", errors="replace")

    def commit(self, paths: list[str], message: str) -> str | None:
        """Commit ``paths`` (repository paths) alone; the commit's id, or None when nothing
        was committed (no Git, nothing changed). A Git failure is logged, never raised: the
        files are saved either way."""
        if not self.enabled or not paths:
            return None
        with self._committing:
            return self._commit(paths, message)

    def _commit(self, paths: list[str], message: str) -> str | None:
        paths = [path for path in dict.fromkeys(paths)
                 if (self.root / path).exists() or self._run("ls-files", "--", path).stdout.strip()]
        if not paths:
            return None
        added = self._run("add", "-A", "--", *paths)
        if added.returncode != 0:
            log.warning("git add failed: %s", added.stderr.strip())
            return None
        if self._run("diff", "--cached", "--quiet", "--", *paths).returncode == 0:
            return None  # saved the same content again
        done = self._run("commit", "-q", "-m", message, "--", *paths)
        if done.returncode != 0:
            log.warning("git commit failed: %s", done.stderr.strip())
            return None
        return self._run("rev-parse", "HEAD").stdout.strip()


def _title_in(path: Path, *, front_matter: bool) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
        if front_matter:
            split = split_front_matter(text)
            text = split[0] if split else ""
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError):
        return None
    if isinstance(data, dict):
        value = data.get("title") or data.get("name")
        return str(value).strip() if value else None
    return None


def describe_change(root: Path, paths: list[str], *, verb: str = "修改") -> str:
    """``修改 课程《八段锦》第 3 讲《左右开弓》`` for the first of ``paths`` (repository paths)."""
    if not paths:
        return f"编辑器：{verb}"
    parts = paths[0].split("/")
    others = f" 等 {len(paths)} 个文件" if len(paths) > 1 else ""
    if parts[0] == "courses" and len(parts) >= 3:
        course = _title_in(root / "courses" / parts[1] / "course.yml", front_matter=False) or parts[1]
        what = f"课程《{course}》"
        if len(parts) >= 4:
            lecture = _title_in(root / "courses" / parts[1] / parts[2] / "lecture.md", front_matter=True)
            number = parts[2].split("-", 1)[0]
            where = f"第 {int(number)} 讲" if number.isdigit() else parts[2]
            what += f"{where}《{lecture}》" if lecture else where
            if parts[3] != "lecture.md":
                what += f"的 {parts[3]}"
        elif parts[2] != "course.yml":
            what += f"的 {parts[2]}"
    elif parts[0] == "centres" and len(parts) >= 3:
        centre = _title_in(root / "centres" / parts[1] / "centre.yml", front_matter=False) or parts[1]
        what = f"学习中心《{centre}》" + (f"的 {parts[-1]}" if parts[2] != "centre.yml" else "")
    elif paths[0] == "weike.yml":
        what = "项目设置 weike.yml"
    else:
        what = paths[0]
    return f"编辑器：{verb} {what}{others}"
