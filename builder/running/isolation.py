"""One course's trouble stays that course's: a plugin's unexpected exception while it works on one
course becomes an error (E901) located at that course and naming the plugin; the other courses
carry on.

A stage that works course by course runs each course's part through a :class:`CourseIsolation`
(``isolation.call(course, work)``); the pipeline does the same for every plugin's check of every
course. What a course's data can break is reported by ``weike check`` with its own code first
(E005, E106, E220...); E901 is the net under the rest, so a plugin's bug, or a case nobody
foresaw, costs one course and never the build.
"""

from __future__ import annotations

import inspect
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from weike.builder.contracts.errors import MissingTool
from weike.builder.contracts.model import Course, Diagnostic, Lecture

if TYPE_CHECKING:
    import pluggy

#: The code of a plugin's unexpected exception on one course (docs/rules.md).
PLUGIN_CRASH_CODE = "E901"
#: An exception's message is cut here: some carry a whole file's worth of text.
_MAX_MESSAGE_CHARS = 200
_STAGE_ZH = {"check": "检查", "media": "媒体", "site": "网站", "offline": "离线版", "bundles": "打包", "reports": "报表"}

logger = logging.getLogger(__name__)
T = TypeVar("T")


def plugin_files(pm: pluggy.PluginManager) -> dict[str, str]:
    """Real path of a source file (or package folder) -> the name of the plugin it belongs to."""
    files: dict[str, str] = {}
    for name, plugin in pm.list_name_plugin():
        module = plugin if hasattr(plugin, "__file__") else inspect.getmodule(plugin)
        file = getattr(module, "__file__", None)
        if not file:
            continue
        files[os.path.realpath(file)] = name
        if os.path.basename(file) == "__init__.py":  # a package: every module in it is the plugin's
            files[os.path.realpath(os.path.dirname(file)) + os.sep] = name
    return files


def blame_plugin(exc: BaseException, pm: pluggy.PluginManager | None) -> str | None:
    """The registered plugin whose code raised ``exc`` (the deepest frame that belongs to one)."""
    if pm is None:
        return None
    files = plugin_files(pm)
    folders = [(folder, name) for folder, name in files.items() if folder.endswith(os.sep)]
    culprit = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        path = os.path.realpath(frame.f_code.co_filename)
        name = files.get(path) or next((name for folder, name in folders if path.startswith(folder)), None)
        if name:
            culprit = name
    return culprit


def exception_summary(exc: BaseException) -> str:
    """``TypeName: first line of the message``, short enough for one diagnostic."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else ""
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "…"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def plugin_crash(*, course: Course, stage: str, plugin: str | None, exc: BaseException,
                 lecture: Lecture | None = None, what: str = "") -> Diagnostic:
    """E901 at the course (or the lecture being worked on) for ``plugin``'s exception ``exc``."""
    who = plugin or "?"
    doing = f"（{what}）" if what else ""
    doing_en = f" ({what})" if what else ""
    location = (lecture or course).where("")
    return Diagnostic.error(
        PLUGIN_CRASH_CODE, location,
        f"插件 {who} 在{_STAGE_ZH.get(stage, stage)}阶段处理这门课程时出错{doing}：{exception_summary(exc)}，课程没有构建",
        f"plugin {who} failed on this course in stage '{stage}'{doing_en}: {exception_summary(exc)}; "
        "the course is left out",
        hint="先运行 weike check 修正报告的其他问题；如果仍然出现，多半是插件的缺陷：用 weike -v 重新运行（日志中有详细位置），"
             "把输出报告给插件的维护者。其他课程不受影响。")


@dataclass(kw_only=True)
class CourseIsolation:
    """Runs per-course work of one stage so that an exception costs only that course.

    ``plugin`` names the plugin when no plugin manager can tell (a stage's own helper code);
    with ``plugin_manager`` the plugin whose code raised is named.
    """

    stage: str
    plugin_manager: pluggy.PluginManager | None = None
    plugin: str | None = None
    #: E901 diagnostics, one per failure, in the order they happened.
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Slugs of the courses whose work raised.
    failed: set[str] = field(default_factory=set)

    def call(self, course: Course, work: Callable[[], T], *, lecture: Lecture | None = None,
             what: str = "", handled: tuple[type[BaseException], ...] = ()) -> T | None:
        """``work()``, or ``None`` after recording its exception against ``course``.

        Exceptions of the ``handled`` types propagate: the stage reports those itself, with their
        own codes (a full disk is E503, not a plugin's fault).
        """
        try:
            return work()
        except (MissingTool, *handled):
            raise  # MissingTool: the machine's fault, not the course's; the command line names the fix
        except Exception as exc:  # noqa: BLE001 - the point: one course's failure stays its own
            plugin = blame_plugin(exc, self.plugin_manager) or self.plugin
            logger.debug("%s failed on %s in stage %s:\n%s", plugin, course.slug, self.stage,
                         "".join(traceback.format_exception(exc)))
            self.failed.add(course.slug)
            self.diagnostics.append(plugin_crash(course=course, stage=self.stage, plugin=plugin, exc=exc,
                                                 lecture=lecture, what=what))
            return None
