"""``weike new repo``, ``course``, ``lecture`` and ``centre``: commented skeletons a teacher fills in.

Skeletons pass ``weike check`` once media is added, but every value the teacher must still
write is marked :data:`PLACEHOLDER`, which the rules report as a warning (W115, W712) until
replaced. Nothing is guessed: the level (县/乡镇/村) is a placeholder too, not the likeliest value.
The rights attestations start as ``false``: attesting is the teacher's decision, not ours.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from weike.builder.contracts.settings import Setting
from weike.builder.keeping.outputs import temp_beside
from weike.builder.repository.centre import CENTRE_FILE, CENTRES_DIR, STATISTICS_NAME_KEY
from weike.builder.repository.loading import COURSE_FILE, COURSE_SLUG_RE, COURSES_DIR, LECTURE_FILE, LECTURE_SLUG_RE
from weike.builder.repository.schema import REPOSITORY_SCHEMA_DIR, SHIPPED_SCHEMA_DIR, write_schemas
from weike.builder.running.plugin_manager import declared_settings

PLACEHOLDER = "【待填写】"
CI_TEMPLATE_DIR = Path(__file__).parent / "templates" / "ci"
#: CI system -> (shipped template, where it goes in a course repository).
CI_TEMPLATES = {
    "github": ("github-actions.yml", ".github/workflows/weike.yml"),
    "gitlab": ("gitlab-ci.yml", ".gitlab-ci.yml"),
}
_NUMBERED_RE = re.compile(r"^(\d{2,3})-")


class ScaffoldError(Exception):
    """The skeleton cannot be created (bad name, folder exists...); message is bilingual."""



@contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """A new folder made beside ``folder`` and renamed into place when the block ends: an
    interrupted run leaves no half course, lecture, centre or repository (an empty folder already
    at ``folder`` is replaced; the block's failure removes what it wrote)."""
    staging = temp_beside(folder)
    staging.mkdir(parents=True)
    try:
        yield staging
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # the empty folder the teacher made for it
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

def schema_reference(target_folder: Path, root: Path, name: str, settings: Iterable[Setting] = ()) -> str:
    """Relative path from ``target_folder`` to the JSON Schema ``name`` for editors.

    In weike's own repository the shipped schema is referenced in place; elsewhere the schemas
    are made from the declarations (the core's fields and the plugins' ``settings``) into
    ``.weike/schemas/``, so editors find them without knowing where weike is installed.
    """
    in_repo = root / "builder" / "repository" / "schemas" / name
    if in_repo.resolve() == (SHIPPED_SCHEMA_DIR / name).resolve() and in_repo.is_file():
        schema = in_repo
    else:
        write_schemas(root / REPOSITORY_SCHEMA_DIR, settings)
        schema = root / REPOSITORY_SCHEMA_DIR / name
    return Path(os.path.relpath(schema, target_folder)).as_posix()


COURSE_TEMPLATE = """\
# yaml-language-server: $schema={schema}
# 课程信息（社区教育品牌课程申报要求，附件2）。“#”后面是说明文字，不会被读取。
# 把所有“{p}”的内容改成本课程的真实信息；weike check 会提示还没改的地方。

# 课程名称
title: {title}
# 课程简介：100 字以内
summary: {p}用一两句话介绍这门课程讲什么、适合谁学。
# 主题：从十个品牌课程主题中选一个：
#   科学素质与互联网学习、职业技能、老年智慧生活、家庭教育指导、乡村振兴、
#   非遗传承、道德与法治、人文艺术、康养健身、社区治理与应急管理
theme: {theme}
# 首页图片：本文件夹中的 JPG 或 PNG，建议 1280×720（现在是一张示意图，请替换）
cover: cover.jpg
# 课程资源创建日期（须为 2022 年 6 月以后新建）
created: {created}
# 授课人：每人写姓名和 100 字以内的简介；多位授课人就多写几项“- name: …”
instructors:
  - name: {p}姓名
    bio: {p}授课人简介，100 字以内。
# 开课机构（填入省级汇总表，附件3）
provider:
  name: {p}机构全称          # 如 某某县社区教育学院
  level: {p}所处层级          # 只写一个：县(市、区) / 乡镇(街道) / 村(社区)
  region: {p}所在省市县
  contact: {p}联系人姓名
  phone: {p}联系电话
# 申报承诺：确认属实后把 false 改成 true。三项都为 true 才能打包上传国家平台。
rights:
  public_good: false                  # 课程为公益属性
  no_copyright_dispute: false         # 课程资源无版权纠纷
  share_to_national_platforms: false  # 同意纳入国家智慧教育平台和国家开放大学终身教育平台开放共享
# 标签（可选），例如 [智能手机, 防诈骗]
tags: []
"""

LECTURE_TEMPLATE = """\
---
# 微课信息。“#”后面是说明文字，不会被读取。把“{p}”的内容改成真实信息。
# 微课名称
title: {title}
# 知识点（技能点）：每个微课只讲一个
knowledge_point: {p}这个微课讲的一个知识点
# 形式（可选）：视频 / 动画 / 音频；不写时按媒体文件自动判断
# form: 视频
# 媒体文件：把视频或音频放进本文件夹；文件夹里只有一个时可以不写这一行
# media: lecture.mp4
# 字幕（可选，.srt 格式）
# subtitles: lecture.srt
# 纯音频微课显示的图片（可选，不写就用课程首页图片）
# image: picture.jpg
---

{p}在这里写讲义：这一讲的要点、操作步骤和注意事项。
"""


def new_course(root: Path, slug: str, *, plugin_manager, title: str | None = None, theme: str = "老年智慧生活",
               today: _dt.date | None = None) -> Path:
    """Create ``courses/<slug>/`` with a commented ``course.yml``, and whatever plugins add to a
    new course (``weike_new_course``: the built-in rules add a placeholder cover)."""
    if not COURSE_SLUG_RE.match(slug):
        raise ScaffoldError(f"课程名“{slug}”只能用小写英文字母、数字和连字符，例如 zhineng-shouji "
                            f"(course slug must be lowercase letters, digits and hyphens)")
    folder = root / COURSES_DIR / slug
    if folder.exists():
        raise ScaffoldError(f"{folder.relative_to(root)} 已经存在 (already exists)")
    text = COURSE_TEMPLATE.format(
        schema=schema_reference(folder, root, "course.schema.json", declared_settings(plugin_manager)),
        p=PLACEHOLDER,
        title=title or f"{PLACEHOLDER}课程名称",
        theme=theme,
        created=(today or _dt.date.today()).isoformat(),
    )
    with staged_folder(folder) as staging:
        (staging / COURSE_FILE).write_text(text, encoding="utf-8")
        plugin_manager.hook.weike_new_course(folder=staging, slug=slug)
    return folder


CENTRE_TEMPLATE = """\
# yaml-language-server: $schema={schema}
# 品牌社区学习中心典型案例推介表（附件4）。“#”后面是说明文字，不会被读取。
# 把所有“{p}”的内容改成本学习中心的真实信息；weike check 会提示还没改的地方。
# 多行文字写在“|”下面，每行缩进两个空格。

# 学校名称：准确填写全称
name: {name}
# 所处层级：只写一个：县(市、区) / 乡镇(街道) / 村(社区)
level: {p}所处层级
# 所在地区，如 某某省某某市某某区某某街道
region: {p}所在省市县
# 申报学校联系方式（只用于申报材料，不会出现在课程网站上）
contact:
  name: {p}联系人姓名
  phone: {p}联系电话        # 手机号或带区号的固定电话
  email: {p}电子邮箱
# 基础保障：主要填写设施、经费保障情况等
foundation: |
  {p}学习场所、教室和设备，经费来源和数额。
# 队伍建设：主要填写社区教育工作者、志愿者队伍情况等
team: |
  {p}专兼职教师和管理人员、志愿者队伍。
# 教育活动与服务：教育活动、业务指导与服务、服务社区建设、实践研究、数字化学习平台与资源等
activities: |
  {p}开设的课程和活动、对下级教学点的指导、数字化学习资源。
# 可持续发展：主要填写办学成效、社会影响等情况
sustainability: |
  {p}办学成效、获得的奖励、居民的评价。
# 特色和经验：字数不超过 1000 字
highlights: |
  {p}本学习中心的特色做法和经验。
# 重点宣传推介内容：凝练可推广、可复制的典型做法和经验，字数不超过 300 字
promotion: |
  {p}一两句话概括最值得推广的做法。
# 本学习中心开设的品牌课程（可选）：写 courses/ 下的课程文件夹名，网站上会互相链接
courses: []
# 照片（可选）：本文件夹中的 JPG 或 PNG，例如 [photos/jiaoshi.jpg]
photos: []
# 是否在课程网站上公开本学习中心的介绍（不写就是 true）；写 false 时只报省里
publish: true
"""


def new_centre(root: Path, slug: str, *, name: str | None = None, settings: Iterable[Setting] = ()) -> Path:
    """Create ``centres/<slug>/centre.yml`` (附件4's fields with Chinese comments)."""

    if not COURSE_SLUG_RE.match(slug):
        raise ScaffoldError(f"学习中心名“{slug}”只能用小写英文字母、数字和连字符，例如 shifan-jiedao "
                            f"(centre slug must be lowercase letters, digits and hyphens)")
    folder = root / CENTRES_DIR / slug
    if folder.exists():
        raise ScaffoldError(f"{folder.relative_to(root)} 已经存在 (already exists)")
    text = CENTRE_TEMPLATE.format(schema=schema_reference(folder, root, "centre.schema.json", settings), p=PLACEHOLDER,
                                  name=name or f"{PLACEHOLDER}学校全称")
    with staged_folder(folder) as staging:
        (staging / CENTRE_FILE).write_text(text, encoding="utf-8")
    return folder


def next_lecture_number(course_folder: Path) -> int:
    numbers = [int(m.group(1)) for entry in course_folder.iterdir() if (m := _NUMBERED_RE.match(entry.name))]
    return max(numbers, default=0) + 1


def new_lecture(root: Path, course_slug: str, slug: str, *, title: str | None = None) -> Path:
    """Create ``courses/<course>/<NN-slug>/lecture.md``; ``NN`` is the next free number if not given."""
    course_folder = root / COURSES_DIR / course_slug
    if not (course_folder / COURSE_FILE).is_file():
        raise ScaffoldError(f"没有找到课程 courses/{course_slug}/course.yml，请先运行 weike new course {course_slug} "
                            f"(course '{course_slug}' not found)")
    if not _NUMBERED_RE.match(slug):
        slug = f"{next_lecture_number(course_folder):02d}-{slug}"
    if not LECTURE_SLUG_RE.match(slug):
        raise ScaffoldError(f"微课名“{slug}”应为“编号-小写英文”，例如 03-wifi "
                            f"(lecture slug must look like 03-wifi)")
    folder = course_folder / slug
    if folder.exists():
        raise ScaffoldError(f"{folder.relative_to(root)} 已经存在 (already exists)")
    text = LECTURE_TEMPLATE.format(p=PLACEHOLDER, title=title or f"{PLACEHOLDER}微课名称")
    with staged_folder(folder) as staging:
        (staging / LECTURE_FILE).write_text(text, encoding="utf-8")
    return folder


def write_ci_template(root: Path, system: str) -> Path:
    """Copy the CI workflow for ``system`` into the repository; never overwrites an existing one."""
    template, destination = CI_TEMPLATES[system]
    target = root / destination
    if target.exists():
        raise ScaffoldError(f"{destination} 已经存在，未覆盖 (already exists, not overwritten)")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_beside(target)
    shutil.copyfile(CI_TEMPLATE_DIR / template, staging)
    staging.replace(target)
    return target


REPO_CONFIG_TEMPLATE = """\
# weike 构建设置（可选）。“#”后面是说明文字，不会被读取；删掉这个文件就全部使用默认值。
# 新建课程资源的起始日期（申报通知：2022 年 6 月以后）；下一年的申报通知改了就改这里。
created_after: 2022-06-01
# 每门课程至少几个微课
min_lectures: 10

# ---- 省级汇总（县、市的老师不用填）----------------------------------------------------------
# 省里汇总上报时填写下面几项：删掉设置行开头的“# ”（说明行留着），把“{p}”和 0 改成真实信息。
# 报表上写的省份（或单位）名称
# province: {p}某某省
# 省级推荐顺序：汇总表（附件3）按这个顺序排列，写课程或学习中心的文件夹名
# recommendation_order:
#   - {p}课程文件夹名
# 省级教育主管部门的联系人和电话：填入汇总表（附件3）和推介表（附件4）的表头
# department:
#   name: {p}某某省教育厅
#   contact: {p}联系人姓名
#   phone: {p}联系电话
# 社区教育机构统计表（附件5）：只写非负整数（人均经费可写小数）；“其中”的数不能大于总数。
# 不写 statistics 就不生成附件5。
# statistics:
#   {name_key}: {p}省级社区教育指导服务中心名称
#   cities: 0                                               # 地级市数 (个)
#   city_guidance_centres: 0                                # 地级社区教育指导中心数 (个)
#   higher_vocational_colleges: 0                           # 高等职业院校数 (个)
#   higher_vocational_colleges_in_community_education: 0    # 开展社区教育的高等职业院校数 (个)
#   county_cities: 0                                        # 县级市数 (个)
#   county_community_colleges: 0                            # 县级社区教育学院数 (个)
#   secondary_vocational_schools: 0                         # 中等职业学校数(含职教中心) (个)
#   secondary_vocational_schools_in_community_education: 0  # 开展社区的中等职业学校数(含职教中心) (个)
#   towns: 0                                                # 镇(街道)数 (个)
#   town_community_schools: 0                               # 乡镇(街道)社区教育学校数 (个)
#   villages: 0                                             # 村(社区)数 (个)
#   village_learning_points: 0                              # 村(社区)学习点数 (个)
#   funding_per_capita: 0                                   # 县域社区教育人均投入经费 (元/年/人)
#   trainings: 0                                            # 全省线上线下培训总数 (人次)
"""

REPO_GITIGNORE = """\
# weike 生成的文件和缓存：不要提交 (build output and caches: never committed)
/dist/
/.weike/*
# 编辑器用的 YAML 说明（schema）要提交，别人打开时也有提示和检查
!/.weike/schemas/
.venv/
__pycache__/
"""

REPO_VSCODE_SETTINGS = """\
{
  "yaml.schemas": {
    "./.weike/schemas/course.schema.json": ["courses/*/course.yml"],
    "./.weike/schemas/centre.schema.json": ["centres/*/centre.yml"],
    "./.weike/schemas/weike.schema.json": ["weike.yml"]
  },
  "files.encoding": "utf8"
}
"""


def repository_config_text() -> str:
    """The commented ``weike.yml`` of a new repository: the build's keys set, the province's keys
    (附件3–5) as commented lines to uncomment, one per 附件5 column in the form's order."""
    return REPO_CONFIG_TEMPLATE.format(p=PLACEHOLDER, name_key=STATISTICS_NAME_KEY)


def new_repository(path: Path, *, settings: Iterable[Setting] = ()) -> Path:
    """A fresh course repository of the teacher's own at ``path``: ``courses/``, ``weike.yml``,
    ``.gitignore`` and the editor's schema wiring (``.vscode/settings.json`` + ``.weike/schemas``).

    Refuses a folder that exists and is not empty: nothing of anyone's is overwritten.
    """
    path = path.resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ScaffoldError(f"{path} 已经存在且不是空文件夹，请换一个名字 (already exists and is not empty)")
    with staged_folder(path) as staging:
        (staging / COURSES_DIR).mkdir()
        (staging / "weike.yml").write_text(repository_config_text(), encoding="utf-8")
        (staging / ".gitignore").write_text(REPO_GITIGNORE, encoding="utf-8")
        (staging / ".vscode").mkdir()
        (staging / ".vscode" / "settings.json").write_text(REPO_VSCODE_SETTINGS, encoding="utf-8")
        # Made from the declarations: the core's fields and every installed plugin's settings.
        write_schemas(staging / REPOSITORY_SCHEMA_DIR, settings)
    return path


#: The author of the first commit when git knows no name or e-mail for the teacher yet.
FALLBACK_GIT_IDENTITY = {"user.name": "weike", "user.email": "weike@localhost"}
FIRST_COMMIT_MESSAGE = "新建课程仓库 (weike new repo)"


@dataclass(frozen=True, kw_only=True)
class GitStart:
    """What ``git init`` and the first commit of a new repository came to, for the teacher."""

    #: The first commit's id, or ``None`` when there is none (no git, or it failed).
    commit: str | None
    #: Sentences for the teacher (Chinese, English alongside): what to do about what went wrong.
    notes: tuple[str, ...] = ()


def start_git_history(path: Path) -> GitStart:
    """``git init`` in the new repository and commit the skeleton, so every later change has a
    history to compare with and a remote to push to. Never raises: without git, or without a
    name and e-mail for the teacher, the repository is still usable, and the notes say what to do."""
    git = shutil.which("git")
    if git is None:
        return GitStart(commit=None, notes=(
            "没有找到 git 命令，仓库没有初始化 Git 历史。安装 Git（https://git-scm.com）后，在仓库文件夹里运行 "
            "git init、git add -A、git commit -m 新建课程仓库 (git was not found: the repository has no history yet)",))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([git, *args], cwd=path, capture_output=True, text=True, timeout=60, check=False)

    notes: list[str] = []
    try:
        # main, as the CI templates and today's hosts expect, whatever this git's default is.
        init = run("-c", "init.defaultBranch=main", "init", "-q")
        if init.returncode != 0:
            return GitStart(commit=None, notes=(_git_failed("git init", init),))
        identity: list[str] = []
        for key, fallback in FALLBACK_GIT_IDENTITY.items():
            if not run("config", key).stdout.strip():
                identity += ["-c", f"{key}={fallback}"]
        if identity:
            notes.append("Git 还不知道您的姓名和邮箱，第一次提交暂时署名 weike。请运行 "
                         "git config --global user.name \"您的姓名\" 和 git config --global user.email \"您的邮箱\"，"
                         "以后的提交就署您的名字 (git has no user.name/user.email: the first commit is signed "
                         "'weike'; set yours with git config --global)")
        add = run("add", "-A")
        commit = run(*identity, "commit", "-q", "-m", FIRST_COMMIT_MESSAGE) if add.returncode == 0 else add
        if commit.returncode != 0:
            return GitStart(commit=None, notes=(*notes, _git_failed("git commit", commit)))
        head = run("rev-parse", "--short", "HEAD").stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return GitStart(commit=None, notes=(f"运行 git 出错：{exc} (running git failed)",))
    return GitStart(commit=head or None, notes=tuple(notes))


def _git_failed(step: str, completed: subprocess.CompletedProcess) -> str:
    detail = (completed.stderr or completed.stdout or "").strip().splitlines()
    return (f"{step} 没有成功（{detail[-1] if detail else completed.returncode}）：仓库已经建好，可以稍后自己提交 "
            f"({step} failed; the repository is ready, commit it yourself later)")

