"""A synthetic but valid course repository for benchmarks (shared by site.py and scale.py).

Distinct covers, Chinese titles, knowledge points and notes; every lecture's source is the same
tiny clip (hard links), so the content-addressed media cache transcodes it once.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

from weike.builder.contracts.model import PROVIDER_LEVELS, THEMES

LECTURES_PER_COURSE = 12
_WORDS = ("智能手机 微信 视频 通话 支付 安全 防骗 健康 饮食 运动 太极 八段锦 广场舞 书法 剪纸 刺绣 茶艺 种植 养殖 "
          "电商 直播 法律 法规 社区 邻里 应急 消防 急救 家庭 教育 亲子 老年 生活 文化 历史 非遗 传承 乡村 振兴 "
          "技能 培训 就业 创业 理财 医保 社保 挂号 出行 导航 拍照 照片 相册 短信 电话 网络 互联网 学习 课堂 "
          "老师 同学 练习 方法 步骤 注意 事项 常见 问题 解答 基础 入门 提高 实践 案例").split()


def phrase(rng: random.Random, words: int) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(words))


def course_yml(*, title: str, summary: str = "用于测量速度的课程。", theme: str = THEMES[2],
               created: str = "2023-09-01", instructor: str = "张老师", bio: str = "社区学校教师。",
               provider: str = "示范县社区教育学院", level: str = PROVIDER_LEVELS[0]) -> str:
    """A valid course.yml (every right attested) with the given values."""
    return (f"title: {title}\nsummary: {summary}\ntheme: {theme}\ncover: cover.jpg\ncreated: {created}\n"
            f"instructors:\n  - name: {instructor}\n    bio: {bio}\n"
            f"provider:\n  name: {provider}\n  level: {level}\n  region: 示范省示范市\n  contact: 王老师\n"
            "  phone: 0571-88886666\n"
            "rights:\n  public_good: true\n  no_copyright_dispute: true\n  share_to_national_platforms: true\n")


def write_repository(root: Path, courses: int, seed: int = 4, *, with_media: bool = False) -> None:
    """A synthetic but valid repository: ``courses`` courses of 12 lectures, one tiny shared clip.

    ``with_media`` puts the clip (a hard link) into every lecture folder, for full builds; without
    it the folders hold only ``lecture.md`` (the site benchmark hands the stage delivered media).
    Whatever ``root`` held before is removed first.
    """
    if root.exists():
        shutil.rmtree(root)
    print(f"writing {courses} courses x {LECTURES_PER_COURSE} lectures to {root} ...", flush=True)
    rng = random.Random(seed)
    (root / "courses").mkdir(parents=True)
    clip = root / "shared" / "clip.mp4"
    clip.parent.mkdir()
    _tiny_clip(clip)
    for number in range(courses):
        write_course(root, number, rng, clip=clip if with_media else None)


def write_course(root: Path, number: int, rng: random.Random, *, clip: Path | None = None) -> str:
    """Course ``course-<number>`` of the synthetic catalogue under ``root/courses`` (its slug returned);
    ``clip``, when given, is hard-linked into every lecture folder as its source."""
    from PIL import Image

    slug = f"course-{number:05d}"
    folder = root / "courses" / slug
    folder.mkdir()
    # Distinct covers, so the thumbnail cache does real work on the cold build.
    Image.new("RGB", (1280, 720), (number * 7 % 256, number * 13 % 256, number * 29 % 256)).save(
        folder / "cover.jpg", quality=85)
    level = PROVIDER_LEVELS[number % 3]
    created = f"20{22 + number % 4}-{1 + number % 12:02d}-{1 + number % 28:02d}"
    created = created if created >= "2022-06-01" else "2022-06-01"
    (folder / "course.yml").write_text(course_yml(
        title=f"{phrase(rng, 3)}{number}", summary=f"{phrase(rng, 12)}。", theme=THEMES[number % len(THEMES)],
        created=created, instructor=f"教师{number}", bio=f"{phrase(rng, 8)}。",
        provider=f"示范{number % 50}社区学校", level=level), encoding="utf-8")
    for lecture in range(1, LECTURES_PER_COURSE + 1):
        lecture_folder = folder / f"{lecture:02d}-lecture-{lecture}"
        lecture_folder.mkdir()
        notes = "\n\n".join(f"{phrase(rng, 10)}，{phrase(rng, 8)}。" for _ in range(4))
        (lecture_folder / "lecture.md").write_text(
            f"---\ntitle: {phrase(rng, 3)}\nknowledge_point: {phrase(rng, 4)}\n"
            f"---\n\n{notes}\n", encoding="utf-8")
        if clip is not None:
            os.link(clip, lecture_folder / "video.mp4")
    return slug


def _tiny_clip(path: Path) -> None:
    from weike.plugins.media import runner as ffmpeg

    ffmpeg.run(["-hide_banner", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1",
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)])
