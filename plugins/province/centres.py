"""The call's rules for brand learning centres (附件4) and the province's facts (附件3, 附件5).

Centres are checked once per repository (a centre names courses, so its rules need the whole
repository); every rule has a stable code in the E7xx (centres) or E8xx (weike.yml's province
facts) range, listed in ``docs/rules.md``, and points at the line that holds the value.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from weike.builder.repository.centre import (
    CENTRE_FIELDS,
    CENTRES_DIR,
    MAX_HIGHLIGHTS_CHARS,
    MAX_PROMOTION_CHARS,
    Centre,
)
from weike.builder.contracts.context import Made
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.contracts.model import LEVEL_CHOICES_HINT, PROVIDER_LEVELS, Diagnostic, PathProblem, Repository, SourceLocation, WeikeConfig
from weike.builder.contracts.settings import max_length
from weike.builder.repository.loading import COURSE_SLUG_RE, find_course_folders
from weike.builder.running.scaffold import PLACEHOLDER
from weike.plugins.province.forms import CENTRE_TEXTS, STATISTIC_FIELDS, StatisticField
from weike.plugins.rules import TextLimit, check_image_file, phone_problem, plausible_email, text_problems

#: The rest of centre.yml's text, by the boxes it fills (E713): 学校名称 one line of 附件4 and of
#: 附件3's name column, the contacts their cells; the four rows without a limit in the call get
#: twice 特色和经验's (a form of a few pages, not a book). The numbers are centre.yml's declared
#: ``max_length`` (the editors' schema says the same).
CENTRE_TEXT_LIMITS = (
    *(TextLimit(key=key, label=label, chars=max_length(CENTRE_FIELDS, key))
      for key, label in (("name", "学校名称 name"), ("region", "所在地区 region"),
                         ("contact.name", "联系人 contact.name"), ("contact.phone", "联系电话 contact.phone"),
                         ("contact.email", "电子邮箱 contact.email"))),
    *(TextLimit(key=key, label=f"{label} {key}", chars=max_length(CENTRE_FIELDS, key), one_line=False)
      for key, label, _ in CENTRE_TEXTS if key not in ("highlights", "promotion")),
)
#: 各省申报品牌社区学习中心典型案例原则上不超过5个.
MAX_CENTRES_PER_PROVINCE = 5


_REQUIRED = {
    "name": "学校名称 name",
    "level": "所处层级 level",
    "region": "所在地区 region",
    "contact.name": "联系人 contact.name",
    "contact.phone": "联系电话 contact.phone",
    "contact.email": "电子邮箱 contact.email",
    **{key: f"{label} {key}" for key, label, _ in CENTRE_TEXTS},
}


def centre_count_chars(text: str) -> int:
    """字数 as the form counts it: Unicode characters, line breaks not counted."""
    return len(text.replace("\r", "").replace("\n", ""))


def _value(centre: Centre, key: str) -> str | None:
    if key.startswith("contact."):
        return getattr(centre.contact, key.removeprefix("contact."))
    return getattr(centre, key)


# --------------------------------------------------------------------------------------------
# One centre
# --------------------------------------------------------------------------------------------


def check_centre(centre: Centre, *, course_folders: set[str]) -> Iterator[Diagnostic]:
    folder = SourceLocation(file=centre.file.rsplit("/", 1)[0])
    if not COURSE_SLUG_RE.match(centre.slug):
        yield Diagnostic.error("E709", folder, f"学习中心文件夹名“{centre.slug}”不符合要求",
                               f"centre folder name '{centre.slug}' is not a valid slug",
                               hint="只用小写英文字母、数字和连字符，例如 hangzhou-xihu；它会成为网址的一部分。")
    if not centre.parsed:
        return
    for key, label in _REQUIRED.items():
        if centre.absent(key, _value(centre, key)):
            yield Diagnostic.error("E701", centre.where(key), f"缺少{label}", f"missing required field '{key}'",
                                   hint=f"在 centre.yml 中填写“{key.rsplit('.', 1)[-1]}: …”。")
    for key, limit, code in (("highlights", MAX_HIGHLIGHTS_CHARS, "E702"), ("promotion", MAX_PROMOTION_CHARS, "E703")):
        text = centre.text(key)
        if text is not None and (count := centre_count_chars(text)) > limit:
            label = next(label for k, label, _ in CENTRE_TEXTS if k == key)
            yield Diagnostic.error(code, centre.where(key), f"{label}有 {count} 字，超过 {limit} 字上限",
                                   f"{key} has {count} characters, limit {limit}",
                                   hint=f"推介表要求{label}不超过 {limit} 字（按字符计，换行不计），请精简。")
    for limit in CENTRE_TEXT_LIMITS:
        yield from text_problems("E713", limit, _value(centre, limit.key), centre.where(limit.key))
    if centre.level is not None and PLACEHOLDER not in centre.level and centre.level not in PROVIDER_LEVELS:
        yield Diagnostic.error("E704", centre.where("level"), f"所处层级“{centre.level}”无效",
                               f"level '{centre.level}' is not one of {', '.join(PROVIDER_LEVELS)}",
                               hint=LEVEL_CHOICES_HINT)
    phone, email = centre.contact.phone, centre.contact.email
    if problem := phone_problem(phone, code="E705", where=centre.where("contact.phone"), key="contact.phone"):
        yield problem
    if email is not None and PLACEHOLDER not in email and not plausible_email(email):
        yield Diagnostic.error("E706", centre.where("contact.email"), f"电子邮箱“{email}”不像邮箱地址",
                               f"e-mail '{email}' does not look like an e-mail address",
                               hint="例如 xuexi@example.edu.cn。")
    for index, slug in enumerate(centre.courses):
        if slug not in course_folders:
            yield Diagnostic.error("E707", centre.where(f"courses.{index}"),
                                   f"课程“{slug}”不是 courses/ 下的课程文件夹",
                                   f"course '{slug}' is no folder under courses/",
                                   hint="这里写课程文件夹的名字（英文），不是课程名称。")
    for photo in centre.photos:
        yield from _check_photo(photo)
    yield from _check_placeholders(centre)


def _check_photo(photo) -> Iterator[Diagnostic]:
    reasons = {
        PathProblem.ABSOLUTE: ("不能使用绝对路径", "absolute paths are not allowed"),
        PathProblem.PARENT: ("不能包含“..”", "'..' is not allowed"),
        PathProblem.OUTSIDE: ("指向了学习中心文件夹之外", "it leads outside the centre folder"),
        PathProblem.MISSING: ("找不到这个文件", "file not found"),
        PathProblem.NOT_A_FILE: ("不是文件", "not a file"),
    }
    if photo.problem is not None:
        zh, en = reasons[photo.problem]
        yield Diagnostic.error("E708", photo.location, f"照片“{photo.declared}”{zh}", f"photo '{photo.declared}': {en}",
                               hint="照片放在本学习中心文件夹中，用相对路径引用，例如 photos/jiaoshi.jpg。")
        return
    # The site decodes every photo for its thumbnail: the same pixel cap and full decode as a cover,
    # so a picture bomb or a cut-off file is this centre's E708, not a crash or a missing photo.
    yield from check_image_file(photo, what="照片", what_en="photo", code="E708")


def _check_placeholders(centre: Centre) -> Iterator[Diagnostic]:
    for key in _REQUIRED:
        value = _value(centre, key)
        if value and PLACEHOLDER in value:
            yield Diagnostic.warning("W712", centre.where(key), f"“{key}”还是模板文字，请填写真实内容",
                                     f"'{key}' still holds scaffold text", hint=f"把“{PLACEHOLDER}…”改成真实信息。")


# --------------------------------------------------------------------------------------------
# The province's facts (weike.yml)
# --------------------------------------------------------------------------------------------


def _config_location(config: WeikeConfig, key: str) -> SourceLocation:
    probe = key
    while probe:
        if probe in config.locations:
            return config.locations[probe]
        probe = probe.rpartition(".")[0]
    return SourceLocation(file="weike.yml")


def statistic_number(spec: StatisticField, value: object) -> int | float | None:
    """``value`` when 附件5 can print it in ``spec``'s column: a non-negative whole number (or any
    non-negative number, for money); else ``None``."""
    allowed = (int, float) if spec.decimal else (int,)
    if isinstance(value, allowed) and not isinstance(value, bool) and value >= 0 and value == value:
        return value
    return None


def _not_a_number(config: WeikeConfig, spec: StatisticField, value: object) -> Diagnostic:
    kind, kind_en = ("非负数", "a non-negative number") if spec.decimal else ("非负整数", "a non-negative whole number")
    written = "…" if value is None else value
    return Diagnostic.error("E801", _config_location(config, f"statistics.{spec.key}"),
                            f"附件5“{spec.label}”应为{kind}，写的是“{written}”",
                            f"statistics.{spec.key} must be {kind_en}",
                            hint="只写阿拉伯数字，不要写单位、逗号或“约”，例如 12。")


def check_province_facts(config: WeikeConfig) -> Iterator[Diagnostic]:
    """附件5: every figure a count (or an amount, for money), every "of which" figure no larger
    than its total; the department's phone dialable."""
    department = config.department
    if department and (problem := phone_problem(department.phone, code="E804", key="department.phone",
                                                where=_config_location(config, "department.phone"),
                                                label="省级教育主管部门的联系电话")):
        yield problem
    statistics = config.statistics
    if statistics is None:
        return
    numbers = {}
    for spec in STATISTIC_FIELDS:
        if spec.key not in statistics.values:
            continue
        value = statistics.values[spec.key]
        if (number := statistic_number(spec, value)) is None:
            yield _not_a_number(config, spec, value)
        else:
            numbers[spec.key] = number
    labels = {spec.key: spec.label for spec in STATISTIC_FIELDS}
    for spec in STATISTIC_FIELDS:
        if spec.part_of is None:
            continue
        part, whole = numbers.get(spec.key), numbers.get(spec.part_of)
        if part is None or whole is None or part <= whole:
            continue
        where = _config_location(config, f"statistics.{spec.key}")
        if spec.strict:
            yield Diagnostic.error("E802", where, f"附件5“{spec.label}”是 {part}，大于“{labels[spec.part_of]}” {whole}",
                                   f"statistics.{spec.key} ({part}) exceeds statistics.{spec.part_of} ({whole})",
                                   hint="“其中”的数目不能超过总数，请核对两个数字。")
        else:
            yield Diagnostic.warning("W803", where, f"附件5“{spec.label}”是 {part}，多于“{labels[spec.part_of]}” {whole}",
                                     f"statistics.{spec.key} ({part}) is more than statistics.{spec.part_of} ({whole})",
                                     hint="通常不会多于后者，请核对两个数字；确实如此可以不改。")


#: The kind and key under which the check hands on whether 附件5 can be printed.
STATISTICS_MADE = "province-statistics"
STATISTICS_READY = "ready"


def statistics_ready(config: WeikeConfig, facts: Iterable[Diagnostic] | None = None) -> bool:
    """附件5 can be written: weike.yml has statistics, every figure a number (no E801) and no
    "of which" above its total (no E802). ``facts``: what :func:`check_province_facts` found, when known."""
    if config.statistics is None:
        return False
    return not any(d.code in ("E801", "E802") for d in (check_province_facts(config) if facts is None else facts))


# --------------------------------------------------------------------------------------------
# Hooks
# --------------------------------------------------------------------------------------------


@hookimpl
def weike_check_repository(repository: Repository, made: Made) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    course_folders = {folder.name for folder in find_course_folders(repository.root)}
    for centre in repository.centres:
        problems.extend(check_centre(centre, course_folders=course_folders))
    if len(repository.centres) > MAX_CENTRES_PER_PROVINCE:
        sixth = repository.centres[MAX_CENTRES_PER_PROVINCE]
        problems.append(Diagnostic.warning(
            "W711", SourceLocation(file=CENTRES_DIR),
            f"有 {len(repository.centres)} 个学习中心，超过每省原则上 {MAX_CENTRES_PER_PROVINCE} 个的上限",
            f"{len(repository.centres)} centres; a province recommends at most {MAX_CENTRES_PER_PROVINCE} "
            f"(from {sixth.slug} on)",
            hint=f"在 weike.yml 的 recommendation_order 中排好推荐顺序，上报前 {MAX_CENTRES_PER_PROVINCE} 个。"))
    facts = list(check_province_facts(repository.config))
    problems.extend(facts)
    # The report stage prints 附件5 only when these figures passed: it is told, not re-checks them.
    made.add(STATISTICS_MADE, STATISTICS_READY, statistics_ready(repository.config, facts))
    return problems
