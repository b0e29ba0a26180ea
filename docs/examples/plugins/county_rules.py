"""示范县的标题规则 (a county's title rule): words the county portal refuses in titles.

The words come from ``weike.yml``, under a key this plugin declares (so no W006 "unknown key")::

    county_banned_title_words: [速成, 包教包会]

``weike check`` and ``weike build`` then report X301 at the line of every course or lecture
title that holds one of them; the course is not built until the title is changed.
"""

from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import Diagnostic
from weike.builder.contracts.settings import ListOf, Setting, Text

BANNED_WORDS = "county_banned_title_words"


@hookimpl
def weike_settings():
    # A typed declaration: a value that is no list of words is E005 at its line, and
    # `weike plugins`, the editors' schema (`weike schema`) and docs show the key.
    return [Setting(name=BANNED_WORDS, type=ListOf(item=Text()), default=(),
                    description="本县平台不收的标题用词（X301）",
                    description_en="words the county portal refuses in course and lecture titles (X301)")]


@hookimpl
def weike_check_course(course, config):
    words = config.plugin_settings.get(BANNED_WORDS, ())
    titled = [(course, "课程名称"), *((lecture, "微课名称") for lecture in course.lectures)]
    for owner, what in titled:
        for word in words:
            if owner.title and word in owner.title:
                yield Diagnostic.error(
                    "X301", owner.where("title"), f"{what}含有本县平台不收的词“{word}”",
                    f"the title contains '{word}', which the county portal refuses",
                    hint=f"改写{what}，去掉“{word}”（这些词列在 weike.yml 的 {BANNED_WORDS} 中）。")
