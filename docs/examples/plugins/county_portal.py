"""示范县终身学习网的导入包 (the county portal's import package), one zip per course.

``weike build`` writes ``dist/bundles/county-portal/<course-slug>.zip``: the delivered videos
under ``videos/`` and ``index.csv``, the list the portal's importer reads (one row per lecture;
UTF-8 with a byte-order mark, so that Excel opens it too).
"""

import csv
import io

from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.archive import ArchiveMember
from weike.plugins.bundles import BundleTarget

COLUMNS = ("序号", "课程名称", "微课名称", "知识点", "时长（秒）", "视频文件")


def cell(text):
    """Course text as a CSV cell. The csv module quotes commas, quotes and line breaks; text
    starting like a formula (= + - @) gets a quote prefix, so that Excel shows it, not runs it."""
    text = text or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def index_csv(course, delivered):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for number, lecture in enumerate(course.lectures, start=1):
        writer.writerow([number, cell(course.title), cell(lecture.title), cell(lecture.knowledge_point),
                         f"{delivered[lecture.key].duration:.1f}", f"videos/{lecture.slug}.mp4"])
    return buffer.getvalue().encode("utf-8-sig")


def pack_for_portal(*, course, delivered, config):
    yield ArchiveMember.from_bytes("index.csv", index_csv(course, delivered))
    for lecture in course.lectures:
        media = delivered[lecture.key]
        # The media stage hashed the file already; the zip writer checks it while copying.
        yield ArchiveMember.from_file(f"videos/{lecture.slug}.mp4", media.path, size=media.size, sha256=media.sha256)


@hookimpl
def weike_bundle_targets():
    return [BundleTarget(name="county-portal", title="示范县终身学习网",
                         description="县终身学习网的导入包：视频和 index.csv（每个微课一行）",
                         pack=pack_for_portal)]
