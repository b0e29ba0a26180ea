"""The ``weike.yml`` keys the province's submission reads (declared with ``weike_settings``)."""

from __future__ import annotations

from weike.builder.contracts.model import WeikeConfig
from weike.builder.contracts.settings import ListOf, Setting, Text

PROVINCE = Setting(
    name="province", type=Text(),
    description="报表上署名的省份（或单位）；weike.yml 写了 department 的名称时用那个",
    description_en="the province (or organisation) named on the reports when weike.yml has no department name")
RECOMMENDATION_ORDER = Setting(
    name="recommendation_order", type=ListOf(item=Text()), default=(),
    description="省里推荐的顺序（附件3）：课程和学习中心的文件夹名；没列出的按名称排在后面",
    description_en="course and centre folders in the province's recommendation order (附件3); others follow by title")

SETTINGS = (PROVINCE, RECOMMENDATION_ORDER)


def province(config: WeikeConfig) -> str | None:
    return PROVINCE.value_in(config.plugin_settings)


def recommendation_order(config: WeikeConfig) -> tuple[str, ...]:
    return tuple(RECOMMENDATION_ORDER.value_in(config.plugin_settings))
