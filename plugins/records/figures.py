"""学时 and 人次 from statements: what ``weike records``, its export and 附件5 report.

The rules, written once here (docs/records.md says them in Chinese):

* **watched time** of a learner in a lecture = the largest share of the video the learner's device
  reported as watched (``progress``, each second counted once, seeking counts nothing) × the
  video's length. Watching a lecture twice does not double it.
* **学时** = watched minutes ÷ 45 (the class period continuing-education credit counts in, the
  same 45 minutes the catalogue's course 学时 use), two decimals, summed per learner and course.
* **completed**: the device sent ``completed`` (≥ 90 % of the lecture watched, each second once).
* **人次** = the number of distinct (learner, course, day) with any statement: a learner who
  studies a course on three days is three 人次, a learner who watches five of its lectures in
  one evening is one. The call counts 培训人次 (attendances); one sitting a day is how a
  classroom counts attendance, and it cannot be inflated by opening many lectures. Days are
  China Standard Time (UTC+8).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from weike.plugins.records.statements import EXT_LENGTH, EXT_PROGRESS, VERB_COMPLETED

MINUTES_PER_STUDY_HOUR = 45
CHINA = _dt.timezone(_dt.timedelta(hours=8))


def learner_key(actor: Mapping) -> str:
    """A stable text for an actor: its account (device id), mbox or openid."""
    account = actor.get("account")
    if isinstance(account, Mapping):
        return f"{account.get('name')}@{account.get('homePage')}"
    for ifi in ("mbox", "mbox_sha1sum", "openid"):
        if actor.get(ifi):
            return str(actor[ifi])
    return "?"


def _name(definition: Mapping | None) -> str | None:
    names = (definition or {}).get("name") or {}
    return names.get("zh-CN") or next(iter(names.values()), None) if isinstance(names, Mapping) else None


def study_hours(seconds: float) -> float:
    return round(seconds / 60 / MINUTES_PER_STUDY_HOUR, 2)


def _day(timestamp: str) -> _dt.date | None:
    try:
        moment = _dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(CHINA).date()


@dataclass(kw_only=True)
class LearnerCourse:
    """One learner in one course."""

    learner: str
    learner_name: str | None
    course: str
    #: Lecture IRI -> seconds watched (each second once).
    watched: dict[str, float] = field(default_factory=dict)
    completed: set[str] = field(default_factory=set)
    days: set[_dt.date] = field(default_factory=set)

    @property
    def seconds(self) -> float:
        return sum(self.watched.values())

    @property
    def study_hours(self) -> float:
        return study_hours(self.seconds)

    @property
    def attendances(self) -> int:
        return len(self.days)


@dataclass(kw_only=True)
class Records:
    """Every learner-course, with the courses' names as the statements give them."""

    learners: dict[tuple[str, str], LearnerCourse] = field(default_factory=dict)
    course_names: dict[str, str] = field(default_factory=dict)
    statements: int = 0

    @property
    def attendances(self) -> int:
        """人次: distinct (learner, course, day)."""
        return sum(item.attendances for item in self.learners.values())

    def courses(self) -> list[str]:
        return sorted({course for _, course in self.learners}, key=lambda c: (self.course_names.get(c, c), c))

    def in_course(self, course: str) -> list[LearnerCourse]:
        return sorted((item for (_, c), item in self.learners.items() if c == course), key=lambda i: i.learner)


def tally(statements: Iterable[Mapping]) -> Records:
    """学时, completions and 人次 of ``statements`` (weike's; others are counted only as statements)."""
    records = Records()
    for statement in statements:
        records.statements += 1
        context = statement.get("context") or {}
        parents = (context.get("contextActivities") or {}).get("parent") or []
        parents = parents if isinstance(parents, list) else [parents]
        if not parents or not isinstance(parents[0], Mapping):
            continue
        course = parents[0].get("id")
        lecture = (statement.get("object") or {}).get("id")
        if not course or not lecture:
            continue
        if (name := _name(parents[0].get("definition"))) is not None:
            records.course_names.setdefault(course, name)
        actor = statement.get("actor") or {}
        key = (learner_key(actor), course)
        item = records.learners.get(key)
        if item is None:
            item = records.learners[key] = LearnerCourse(learner=key[0], learner_name=actor.get("name"),
                                                         course=course)
        item.learner_name = item.learner_name or actor.get("name")
        if (day := _day(statement.get("timestamp") or statement.get("stored") or "")) is not None:
            item.days.add(day)
        result = statement.get("result") or {}
        progress = (result.get("extensions") or {}).get(EXT_PROGRESS)
        length = (context.get("extensions") or {}).get(EXT_LENGTH)
        if isinstance(progress, (int, float)) and isinstance(length, (int, float)):
            seen = max(0.0, min(1.0, float(progress))) * max(0.0, float(length))
            item.watched[lecture] = max(item.watched.get(lecture, 0.0), seen)
        if (statement.get("verb") or {}).get("id") == VERB_COMPLETED:
            item.completed.add(lecture)
    return records
