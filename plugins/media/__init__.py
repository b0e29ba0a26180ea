"""The media capability: lectures' sources checked, delivered as spec MP4s, and described.

This module is the plugin's face: its hook implementations, each handing the work to the module
named beside it, and the names other plugins and tools use.

Hooks, by phase, and where each is implemented:

- ``weike_add_hookspecs``: ``hookspecs.py`` (``weike_media_profiles``, delivery profiles;
  ``weike_media_renditions``, the renditions other plugins need, made by ``saver.py``).
- ``weike_settings``: the ``title_cards`` setting, read by ``titlecards.py``.
- ``weike_media_profiles``: the ``default`` profile of ``profile.py`` (the call's delivery spec).
- ``weike_check_prepare``: ``checks.py`` (every source not probed yet, probed in parallel).
- ``weike_check_course``: ``checks.py`` (unreadable or over-long sources, subtitles, what the title
  cards draw).
- ``weike_build_inputs``: ``runner.py`` (the ffmpeg binaries and libraries behind the files).
- ``weike_media_stage``: ``stage.py``, which runs what ``planning.py`` plans: ``encoding.py``
  delivers the content, ``cards.py`` joins the title cards, ``cluster.py`` checks the Dask
  workers first, ``manifest.py`` publishes into ``dist/media``, ``saver.py`` makes the
  renditions asked for (the 省流量 one), ``ledger.py`` remembers what was delivered from what,
  so an unchanged lecture is handed forward without any of that.
- ``weike_media_delivered``: ``manifest.py`` (``dist/media/manifest.json`` read back).
- ``weike_doctor_checks``: ``doctor.py``.
- ``weike_cache_parts``: ``cache.py``.
- ``weike_cli_commands``: ``commands.py`` (``weike probe``, ``weike preview-card``).

Beneath them: ``runner.py`` (the one place ffmpeg and ffprobe run), ``probe.py`` (what a file
is), ``profile.py`` (delivery profiles and their rules), ``subtitles.py`` (SRT in, WebVTT out),
``titlecards.py`` (the cards' settings, text and pictures).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from weike.builder.contracts.context import BuildContext, BuildPaths, Made, OutputStage, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.public import lazy_names
from weike.builder.contracts.model import Course, DeliveredMedia, Diagnostic, Repository, Setting, WeikeConfig
from weike.plugins.media import hookspecs, settings

if TYPE_CHECKING:
    from weike.plugins.media.profile import DeliveryProfile

# Registering this plugin imports only the hook implementations below, its settings and its hook
# specs: every weike command registers it, the no-change rebuild among them, and most use none of
# its stages. Each hook imports the module that does its work when it is called; the public names
# below are looked up (and their modules imported) when first asked for.

# --------------------------------------------------------------------------------------------
# Public names
# --------------------------------------------------------------------------------------------

#: The media capability's public face for other plugins and tools: its one ffmpeg runner, so that
#: nothing else spawns ffmpeg (``run_ffmpeg``, ``probe_json``, ``ffmpeg_version``, ``FfmpegError``,
#: ``FfmpegNotFound``), and the renditions a plugin may ask for (``weike_media_renditions``:
#: ``SaverRecipe``; ``DATA_SAVER``, the 省流量 rendition, 640×360 at a few hundred kbit/s). For tools
#: and benchmarks that look at lectures as the build does: the title cards in force for a course
#: (``title_card_settings``), a lecture's delivery plan, its cache key (``plan_lecture``), the
#: process-wide media memo (``shared_memo``), and the Dask check of ``weike doctor``
#: (``dask_checks``). A plugin offering delivery profiles builds them with ``DeliveryProfile``;
#: ``DEFAULT_PROFILE`` is the call's. Name -> its module (and its name there, when another).
_PUBLIC = {
    "run_ffmpeg": ("runner", "run"), "ffmpeg_version": ("runner", "version"), "probe_json": "runner",
    "FfmpegError": "runner", "FfmpegNotFound": "runner",
    "SaverRecipe": "saver", "DATA_SAVER": ("saver", "DEFAULT_RECIPE"),
    "title_card_settings": "cards", "plan_lecture": "planning", "shared_memo": "checks", "dask_checks": "doctor",
    "DEFAULT_PROFILE": "profile", "DeliveryProfile": "profile",
}

__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)


def probe_upload(project, path: Path) -> dict:
    """``weike probe``'s verdict on one file under the repository's delivery profile, without the
    loudness pass (a full decode): the editor shows its ``summary`` right after an upload."""
    from weike.plugins.media.commands import probe_verdict
    from weike.plugins.media.profile import resolve_profile

    profile = resolve_profile(project.plugin_manager, settings.profile_name(project.config))
    return probe_verdict(Path(path), profile, loudness=False)


# --------------------------------------------------------------------------------------------
# Hook implementations: each hands its work to the module that does it
# --------------------------------------------------------------------------------------------


@hookimpl
def weike_add_hookspecs(plugin_manager) -> None:
    plugin_manager.add_hookspecs(hookspecs)


@hookimpl
def weike_settings() -> tuple[Setting, ...]:
    return settings.SETTINGS


@hookimpl
def weike_media_profiles() -> list[DeliveryProfile]:
    from weike.plugins.media.profile import DEFAULT_PROFILE

    return [DEFAULT_PROFILE]


@hookimpl
def weike_check_prepare(repository: Repository, paths: BuildPaths, jobs: int) -> None:
    from weike.plugins.media import checks

    checks.probe_sources(repository, paths, jobs)


@hookimpl
def weike_check_course(course: Course, config: WeikeConfig, paths: BuildPaths, made: Made) -> list[Diagnostic]:
    from weike.plugins.media import checks

    return checks.check_course_media(course, config, paths, made)


@hookimpl
def weike_build_inputs(root: Path, config: WeikeConfig) -> list[Path | str]:
    """The ffmpeg binaries and the libraries that shape what is delivered."""
    from weike.plugins.media import runner

    return runner.recipe_inputs()


@hookimpl
def weike_media_stage(context: BuildContext, courses: Sequence[Course], made: Made) -> StageOutcome:
    from weike.plugins.media import stage

    return stage.deliver_media(context, courses, made=made)


@hookimpl
def weike_media_delivered(context: BuildContext, courses: Sequence[Course]) -> dict[str, DeliveredMedia]:
    """What ``dist/media/manifest.json`` says is delivered for ``courses``, from the same source file."""
    from weike.plugins.media import manifest

    return manifest.delivered_from_manifest(context, courses)


@hookimpl
def weike_doctor_checks(root: Path | None, scheduler: str | None) -> list:
    from weike.plugins.media import doctor

    return doctor.doctor_checks(root, scheduler)


@hookimpl
def weike_cache_parts(context: BuildContext, repository) -> list:
    from weike.plugins.media import cache

    return cache.cache_parts(context, repository)


@hookimpl
def weike_cli_commands(subparsers) -> None:
    from weike.plugins.media import commands

    commands.add_commands(subparsers)


@hookimpl
def weike_output_stages() -> list[OutputStage]:
    """The media stage: every lecture delivered to the profile, handed to every later output."""
    return [OutputStage(name="media", title="媒体 media", hook="weike_media_stage", delivers_media=True)]
