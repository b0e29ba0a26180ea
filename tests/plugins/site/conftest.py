"""Site-stage fixtures: a repository with delivered media, built through the real pipeline.

The media stage is another plugin; here a small plugin hands the pipeline the fixture's real,
conforming MP4s (``delivered_repo``) so the site stage runs exactly as in ``weike build``.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import pytest

from weike.builder.context import BuildPaths, StageOutcome
from weike.builder.hookspecs import hookimpl
from weike.builder.pipeline import build
from weike.builder.project import Project
from weike.builder.plugin_manager import get_plugin_manager
from weike.builder.progress import Progress
from weike.builder.stamp import STAMP_FILE
from tests.conftest import COURSE_YML, lecture_md

#: A second course in another theme and level, with a lecture title to search for.
OTHER_COURSE_YML = (COURSE_YML.replace("title: 测试课程", "title: 手机摄影入门")
                    .replace("theme: 老年智慧生活", "theme: 科学素质与互联网学习")
                    .replace("level: 县(市、区)", "level: 村(社区)")
                    .replace("created: 2023-09-01", "created: 2024-05-01"))
SEARCH_TITLE = "智能手机拍照技巧"


class DeliveredMediaPlugin:
    """Stands in for the media stage by handing over files that are already delivered."""

    def __init__(self, delivered) -> None:
        self.delivered = delivered

    @hookimpl
    def weike_media_stage(self, context, courses):
        keys = {lecture.key for course in courses for lecture in course.lectures}
        return StageOutcome(delivered=MappingProxyType({k: v for k, v in self.delivered.items() if k in keys}))


@dataclass
class BuiltSite:
    root: Path
    site: Path
    delivered: dict
    result: object

    def rebuild(self):
        self.result = build_site(self.root, self.delivered)
        return self.result

    def html(self, rel: str) -> str:
        return (self.site / rel / "index.html").read_text(encoding="utf-8")


def build_site(root: Path, delivered):
    pm = get_plugin_manager(root, extra=[DeliveredMediaPlugin(delivered)])
    # No whole-build stamp: these tests watch the site stage's own skipping (--force would
    # rebuild the site on purpose).
    (BuildPaths.for_root(root).cache / STAMP_FILE).unlink(missing_ok=True)
    return build(Project.open(root, plugin_manager=pm), progress=Progress(), only="site")


def site_files(extra_files=None, *, site_url: str | None = None) -> dict:
    files = {
        "courses/photo/course.yml": OTHER_COURSE_YML,
        "courses/photo/01-lecture-1/lecture.md": lecture_md(title=SEARCH_TITLE, knowledge_point="构图的三分法"),
    }
    if site_url:
        files["weike.yml"] = f"site_url: {site_url}\n"
    files.update(extra_files or {})
    return files


@pytest.fixture
def built_site(delivered_repo):
    """``built_site(files=None, site_url=None) -> BuiltSite`` for courses "demo" and "photo"."""

    def make(files=None, *, site_url: str | None = None) -> BuiltSite:
        repository, delivered, dist = delivered_repo(valid_courses=("demo", "photo"),
                                                     files=site_files(files, site_url=site_url))
        result = build_site(repository.root, delivered)
        return BuiltSite(root=repository.root, site=dist / "site", delivered=delivered, result=result)

    return make


#: A clip long enough to seek in (the shared conforming clip lasts one second).
LONG_CLIP = ["-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=12",
             "-f", "lavfi", "-i", "sine=frequency=440:duration=12:sample_rate=48000",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25",
             "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart"]


@pytest.fixture
def offline_site(built_site, media):
    """The built site of courses "demo" and "photo", lecture 1 of "demo" with a 12-second video."""

    def make(files=None):
        built = built_site(files)
        long_clip = media("long.mp4", LONG_CLIP)
        delivered = dict(built.delivered)
        video = delivered["demo/01-lecture-1"].path
        video.unlink()
        shutil.copyfile(long_clip, video)
        delivered["demo/01-lecture-1"] = replace(delivered["demo/01-lecture-1"], duration=12.0,
                                                 size=video.stat().st_size,
                                                 sha256=hashlib.sha256(video.read_bytes()).hexdigest())
        built.delivered = delivered
        built.rebuild()
        return built

    return make
