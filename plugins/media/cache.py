"""What ``weike cache`` may prune of the media capability's cache: the delivered media no lecture
maps to any more, the renditions the last build did not use, the ledger of what was delivered
(losing it costs one build that looks at every lecture again), and the hash and probe memo."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from weike.builder.contracts.context import BuildContext
from weike.builder.contracts.model import Course, Lecture
from weike.builder.keeping.prune import MemoPart, RecordPart, StorePart
from weike.builder.keeping.store import ContentStore
from weike.builder.running.executor import available_cores
from weike.plugins.media import runner as ffmpeg
from weike.plugins.media.cards import title_card_settings
from weike.plugins.media.checks import MEMO_FILE, shared_memo
from weike.plugins.media.encoding import DeliveryFailed
from weike.plugins.media.ledger import LEDGER_FILE
from weike.plugins.media.planning import plan_lecture
from weike.plugins.media.probe import ProbeError
from weike.plugins.media.saver import SAVERS_FOLDER, SAVERS_USED_FILE, used_keys
from weike.plugins.media.settings import profile_name
from weike.plugins.media.profile import DuplicateProfile, UnknownProfile, resolve_profile
from weike.plugins.media.stage import STORE_FOLDER


def needed_store_keys(context: BuildContext, repository) -> tuple[set[str] | None, str]:
    """The cache keys every lecture of the repository maps to now, or ``(None, why)`` if that cannot be told.

    The same planning as the stage (hash and probe, through the memo), for every course, also
    those failing the check: their media is kept for when they are fixed.
    """
    try:
        profile = resolve_profile(context.plugin_manager, profile_name(context.config))
        ffmpeg.version()
    except (UnknownProfile, DuplicateProfile, ffmpeg.FfmpegNotFound, ffmpeg.FfmpegError) as exc:
        return None, f"无法判断哪些条目仍需要，全部保留 (cannot tell which entries are needed, all kept: {exc})"
    store_root = context.paths.cache / STORE_FOLDER
    pairs = [(course, lecture) for course in repository.courses for lecture in course.lectures]

    def key_of(pair: tuple[Course, Lecture]) -> list[str]:
        try:
            plan = plan_lecture(*pair, root=context.paths.root, memo=memo, profile=profile, store_root=store_root,
                                cards=title_card_settings(context.config, pair[0]))
        except (ProbeError, DeliveryFailed, OSError):
            return []  # no usable source now: nothing of it to keep
        return [plan.job.key, *([plan.card_job.key] if plan.card_job is not None else [])]

    memo = shared_memo(context.paths.cache)
    with ThreadPoolExecutor(max_workers=available_cores() * 2) as pool:
        keys = {key for found in pool.map(key_of, pairs) for key in found}
    return keys, ""


def cache_parts(context: BuildContext, repository) -> list:
    """The media store (with the keys still needed), the renditions and the memo, as ``weike cache`` parts."""
    needed, note = needed_store_keys(context, repository)
    cache = context.paths.cache
    return [
        StorePart(ContentStore(cache / STORE_FOLDER), needed_keys=needed, name="media",
                  title="转码结果 (delivered media)", note=note),
        StorePart(ContentStore(cache / SAVERS_FOLDER), needed_keys=used_keys(cache), name="media-savers",
                  title="省流量视频 (data-saver renditions)",
                  note="只留最近一次构建用到的 (kept: those the last build used)"),
        RecordPart(name="media-delivered", title="上次交付了什么、由什么做成 (what the last build delivered, from what)",
                   path=cache / LEDGER_FILE),
        RecordPart(name="media-savers-used", title="最近一次构建用到的省流量视频 (data-saver renditions in use)",
                   path=cache / SAVERS_USED_FILE),
        MemoPart(context.paths.cache / MEMO_FILE, name="media-memo", title="哈希与探测记录 (hash and probe memo)"),
    ]
