"""What the call's forms say about the values weike reads: the rows of 附件4 and the columns of 附件5.

The core reads ``centre.yml`` and ``weike.yml``'s ``statistics`` by key
(:mod:`weike.builder.centre`); the labels, the guidance printed under them, and what one figure
is a part of are the forms', so they live here, with the forms and the rules that quote them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The four free-text rows of 附件4 in the form's order, with the form's own labels and guidance
#: (keys: :data:`weike.builder.centre.CENTRE_TEXT_KEYS`).
CENTRE_TEXTS: tuple[tuple[str, str, str], ...] = (
    ("foundation", "基础保障", "主要填写设施、经费保障情况等"),
    ("team", "队伍建设", "主要填写社区教育工作者、志愿者队伍情况等"),
    ("activities", "教育活动与服务",
     "主要填写教育活动、业务指导与服务、服务社区建设、实践研究、数字化学习平台与资源等情况"),
    ("sustainability", "可持续发展", "主要填写办学成效、社会影响等情况"),
    ("highlights", "特色和经验", "字数不超过 1000 字"),
    ("promotion", "重点宣传推介内容", "主要凝练可推广、可复制的典型做法和经验。字数不超过 300 字内"),
)


@dataclass(frozen=True, kw_only=True)
class StatisticField:
    """One column of 附件5 (社区教育机构统计表)."""

    key: str
    label: str
    #: The column this one is a part of ("of which ... "), when the call implies one.
    part_of: str | None = None
    #: ``part_of`` is a hard limit (error) rather than a usual one (warning).
    strict: bool = True
    #: A money amount, which may have decimals (元/年/人); the others are counts.
    decimal: bool = False


#: 附件5's columns after the first (省级社区教育指导服务中心名称), in the call's order (keys:
#: :data:`weike.builder.centre.STATISTIC_KEYS`).
STATISTIC_FIELDS: tuple[StatisticField, ...] = (
    StatisticField(key="cities", label="地级市数 (个)"),
    # One guidance centre per city is the plan, not a law of counting: more is only a warning.
    StatisticField(key="city_guidance_centres", label="地级社区教育指导中心数 (个)", part_of="cities", strict=False),
    StatisticField(key="higher_vocational_colleges", label="高等职业院校数 (个)"),
    StatisticField(key="higher_vocational_colleges_in_community_education",
                   label="开展社区教育的高等职业院校数 (个)", part_of="higher_vocational_colleges"),
    StatisticField(key="county_cities", label="县级市数 (个)"),
    # Not "of" the county-level cities: counties and city districts have community colleges too.
    StatisticField(key="county_community_colleges", label="县级社区教育学院数 (个)"),
    StatisticField(key="secondary_vocational_schools", label="中等职业学校数(含职教中心) (个)"),
    StatisticField(key="secondary_vocational_schools_in_community_education",
                   label="开展社区的中等职业学校数(含职教中心) (个)", part_of="secondary_vocational_schools"),
    StatisticField(key="towns", label="镇(街道)数 (个)"),
    StatisticField(key="town_community_schools", label="乡镇(街道)社区教育学校数 (个)", part_of="towns"),
    StatisticField(key="villages", label="村(社区)数 (个)"),
    StatisticField(key="village_learning_points", label="村(社区)学习点数 (个)", part_of="villages", strict=False),
    StatisticField(key="funding_per_capita", label="县域社区教育人均投入经费 (元/年/人)", decimal=True),
    StatisticField(key="trainings", label="全省线上线下培训总数 (人次)"),
)
#: 附件5's first column (the value is ``statistics.centre_name``).
STATISTICS_NAME_LABEL = "省级社区教育指导服务中心名称"
