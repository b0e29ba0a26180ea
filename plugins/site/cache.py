"""What ``weike cache`` may prune of the site's cache: thumbnails, notes pictures, the covers' memo, QR
codes, 省流量 renditions no build uses now, and the work folders."""

from __future__ import annotations

from weike.builder.contracts.context import BuildContext
from weike.plugins.site.stage import site_work_dirs


def cache_parts(context: BuildContext, repository) -> list:
    from weike.builder.keeping.prune import MemoPart, RecordPart, ScratchPart
    from weike.plugins.notes import note_pictures
    from weike.plugins.site.covers import (COVERS_FOLDER, COVERS_MEMO_FILE, NOTE_PICTURES_FOLDER, CoversPart,
                                           note_picture_name)
    from weike.plugins.site.qr import QR_CODES_FILE

    work_dir, cache_dir = site_work_dirs(context)
    covers = [course.cover.path for course in repository.courses if course.cover and course.cover.path]
    covers += [photo.path for centre in repository.centres for photo in centre.photos if photo.path]
    pictures = []
    for course in repository.courses:
        for lecture in course.lectures:
            try:
                pictures += note_pictures(lecture.folder)
            except OSError:
                continue  # a lecture folder gone since loading: nothing of it to keep
    return [
        CoversPart(cache_dir / COVERS_FOLDER, covers, name="site-covers", title="封面缩略图 (cover thumbnails)"),
        CoversPart(cache_dir / NOTE_PICTURES_FOLDER, pictures, name="site-note-pictures", made_name=note_picture_name,
                   title="讲义图片（手机尺寸）(notes pictures sized for phones)"),
        MemoPart(cache_dir / COVERS_MEMO_FILE, name="site-covers-memo", title="封面图片的哈希 (hashes of covers)"),
        RecordPart(name="site-qr-codes", title="课程二维码 (course QR codes)", path=cache_dir / QR_CODES_FILE),
        ScratchPart(name="site-work", title="网站构建的工作目录 (site build work folder)", path=work_dir),
        ScratchPart(name="site-offline", title="离线版（部分课程）的网站 (offline edition's site of chosen courses)",
                    path=cache_dir / "offline-source",
                    note="只在 extra.weike.offline.courses 选了部分课程时使用 (used when the offline edition names its courses)"),
        ScratchPart(name="site-offline-work", title="离线版网站的工作目录 (offline site work folder)",
                    path=cache_dir / "offline-work"),
        ScratchPart(name="site-preview", title="weike serve 的预览 (weike serve preview)", path=cache_dir / "preview",
                    note="weike serve 运行时不要清理 (do not prune while weike serve runs)"),
    ]
