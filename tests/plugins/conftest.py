"""Fixtures for the bundle and report stages: repositories with delivered media, real builds.

The media stage is another plugin; these tests take their media from ``delivered_repo`` (real
conforming MP4s in ``dist/media``) and, for whole builds, from a repository-local plugin that
hands those files on as delivered: the same thing a media cache hit does.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from weike.builder.contracts.context import BuildContext, BuildPaths, Made, StageOutcome
from weike.builder.running.pipeline import BuildResult, build
from weike.builder.running.plugin_manager import get_plugin_manager
from weike.builder.running.progress import Progress

#: A course repository's own plugin: the files already in dist/media are the delivered media.
DELIVERED_MEDIA_PLUGIN = '''
import hashlib

from weike.builder.contracts.context import StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import DeliveredMedia


@hookimpl
def weike_media_stage(context, courses):
    delivered = {}
    for course in courses:
        for lecture in course.lectures:
            path = context.paths.media / course.slug / f"{lecture.slug}.mp4"
            data = path.read_bytes()
            subtitles, subtitles_srt = path.with_suffix(".vtt"), path.with_suffix(".srt")
            delivered[lecture.key] = DeliveredMedia(
                course_slug=course.slug, lecture_slug=lecture.slug, path=path, duration=1.0, size=len(data),
                sha256=hashlib.sha256(data).hexdigest(), source_sha256="", profile="default",
                poster=path.with_suffix(".jpg"), subtitles=subtitles if subtitles.exists() else None,
                subtitles_srt=subtitles_srt if subtitles_srt.exists() else None)
    return StageOutcome(delivered=delivered)
'''


def install_delivered_media_plugin(root: Path) -> None:
    (root / "plugins").mkdir(exist_ok=True)
    (root / "plugins" / "delivered_media.py").write_text(DELIVERED_MEDIA_PLUGIN, encoding="utf-8")


def run_build(root: Path, *, only: str | None = "bundles", dist: Path | None = None) -> BuildResult:
    return build(root, progress=Progress(), only=only, dist=dist)


def run_bundle_stage(repository, delivered, dist: Path, *, extra=()) -> StageOutcome:
    """The bundle stage hook called directly, as the pipeline calls it."""
    pm = get_plugin_manager(repository.root, extra=extra)
    context = BuildContext(config=repository.config, paths=BuildPaths.for_root(repository.root, dist=dist),
                           plugin_manager=pm, progress=Progress())
    return pm.hook.weike_bundle_stage(context=context, courses=list(repository.courses), delivered=delivered,
                                      made=Made())


def read_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.fixture
def bundled(delivered_repo):
    """``bundled(valid_courses=..., files=...) -> (repository, delivered, dist, outcome)``."""

    def make(valid_courses=("demo",), files=None):
        repository, delivered, dist = delivered_repo(valid_courses=valid_courses, files=files)
        outcome = run_bundle_stage(repository, delivered, dist)
        return repository, delivered, dist, outcome

    return make


@pytest.fixture
def buildable_repo(delivered_repo):
    """``buildable_repo(valid_courses=..., files=...) -> root`` whose builds find delivered media."""

    def make(valid_courses=("demo",), files=None):
        repository, _, _ = delivered_repo(valid_courses=valid_courses, files=files)
        install_delivered_media_plugin(repository.root)
        return repository.root

    return make
