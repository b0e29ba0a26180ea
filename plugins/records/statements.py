"""xAPI 1.0.3 statements: the activity IRIs weike gives courses and lectures, and the rules a
statement must follow before a station stores it.

The IRIs are the catalogue's own page addresses when ``site_url`` is known (``<site_url>courses/
<course>/`` and ``<site_url>courses/<course>/<lecture>/``), so a platform that receives the
statements can open the page. Without ``site_url`` they fall back to ``urn:weike:courses:<course>``
and ``urn:weike:courses:<course>:<lecture>`` (URNs are IRIs, and name nothing a county does not own);
a site that later gets a ``site_url`` starts new IRIs, so set it before the records matter.

:func:`statement_problems` checks the statement rules of the xAPI 1.0.3 specification (Part Two,
"Experience API Data") that a Learning Record Store enforces with 400 Bad Request: required
properties, no property the specification does not define, no ``null``, UUIDs, IRIs, language
maps, ISO 8601 timestamps and durations, exactly one identifier per agent, score ranges and the
context properties allowed only with an Activity object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

XAPI_VERSION = "1.0.3"
#: The ``X-Experience-API-Version`` values a station accepts (1.0.x statements are one format).
ACCEPTED_VERSION = re.compile(r"^1\.0(\.\d+)?$")

VERB_LAUNCHED = "http://adlnet.gov/expapi/verbs/launched"
VERB_PROGRESSED = "http://adlnet.gov/expapi/verbs/progressed"
VERB_COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
VERBS = {VERB_LAUNCHED: "launched", VERB_PROGRESSED: "progressed", VERB_COMPLETED: "completed"}
ACTIVITY_COURSE = "http://adlnet.gov/expapi/activities/course"
ACTIVITY_VIDEO = "https://w3id.org/xapi/video/activity-type/video"
#: The xAPI Video Profile's extensions: the share of the video watched (0–1, each second once)
#: and the video's length in seconds. 学时 are counted from them.
EXT_PROGRESS = "https://w3id.org/xapi/video/extensions/progress"
EXT_LENGTH = "https://w3id.org/xapi/video/extensions/length"
FALLBACK_HOME_PAGE = "https://weike.invalid/"


def course_iri(site_url: str | None, course: str) -> str:
    """The activity id of a course: its page's address, or a ``urn:weike:`` name without ``site_url``."""
    if site_url:
        return f"{site_url.rstrip('/')}/courses/{course}/"
    return f"urn:weike:courses:{course}"


def lecture_iri(site_url: str | None, course: str, lecture: str) -> str:
    if site_url:
        return f"{site_url.rstrip('/')}/courses/{course}/{lecture}/"
    return f"urn:weike:courses:{course}:{lecture}"


def home_page(site_url: str | None) -> str:
    """``account.homePage`` of the anonymous device ids: the site, else the reserved ``weike.invalid``."""
    return site_url or FALLBACK_HOME_PAGE


# --------------------------------------------------------------------------------------------
# The statement rules
# --------------------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+$")
_IRL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s<>\"{}|\\^`]+$")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")
_DURATION = re.compile(r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
                       r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")

STATEMENT_KEYS = {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority",
                  "version", "attachments"}
_SUB_STATEMENT_KEYS = {"objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"}
_AGENT_KEYS = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
_GROUP_KEYS = _AGENT_KEYS | {"member"}
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
_DEFINITION_KEYS = {"name", "description", "type", "moreInfo", "extensions", "interactionType",
                    "correctResponsesPattern", "choices", "scale", "source", "target", "steps"}
_INTERACTION_TYPES = {"true-false", "choice", "fill-in", "long-fill-in", "matching", "performance", "sequencing",
                      "likert", "numeric", "other"}
_CONTEXT_KEYS = {"registration", "instructor", "team", "contextActivities", "revision", "platform", "language",
                 "statement", "extensions"}
_CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}
_RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
_SCORE_KEYS = {"scaled", "raw", "min", "max"}
_ATTACHMENT_KEYS = {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"}


class _Problems(list):
    def add(self, where: str, text: str) -> None:
        self.append(f"{where}: {text}" if where else text)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _object(problems: _Problems, value: Any, where: str, allowed: set[str], required: tuple[str, ...] = ()) -> bool:
    """``value`` is a JSON object with only ``allowed`` keys, all ``required`` ones, no null."""
    if not isinstance(value, Mapping):
        problems.add(where, "must be a JSON object")
        return False
    for key in sorted(set(value) - allowed):
        problems.add(where, f"unknown property '{key}'")
    for key, item in value.items():
        if item is None:
            problems.add(f"{where}.{key}".lstrip("."), "must not be null")
    for key in required:
        if key not in value:
            problems.add(where, f"'{key}' is required")
    return True


def _iri(problems: _Problems, value: Any, where: str, *, irl: bool = False) -> None:
    if not isinstance(value, str) or not (_IRL if irl else _IRI).match(value):
        problems.add(where, f"must be an absolute {'IRL' if irl else 'IRI'}")


def _uuid(problems: _Problems, value: Any, where: str) -> None:
    if not isinstance(value, str) or not _UUID.match(value):
        problems.add(where, "must be a UUID (RFC 4122)")


def _language_map(problems: _Problems, value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        problems.add(where, "must be a language map")
        return
    for tag, text in value.items():
        if not _LANGUAGE_TAG.match(str(tag)):
            problems.add(where, f"'{tag}' is not a language tag (RFC 5646)")
        if not isinstance(text, str):
            problems.add(f"{where}.{tag}", "must be a string")


def _extensions(problems: _Problems, value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        problems.add(where, "must be an object")
        return
    for key in value:
        _iri(problems, key, f"{where} key '{key}'")


def _timestamp(problems: _Problems, value: Any, where: str) -> None:
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        problems.add(where, "must be an ISO 8601 date and time")


def _agent(problems: _Problems, value: Any, where: str, *, group_allowed: bool = True) -> None:
    if not isinstance(value, Mapping):
        problems.add(where, "must be an Agent or Group object")
        return
    kind = value.get("objectType", "Agent")
    if kind == "Group" and group_allowed:
        _object(problems, value, where, _GROUP_KEYS)
        identified = [ifi for ifi in _IFIS if ifi in value]
        if len(identified) > 1:
            problems.add(where, "a Group has at most one identifier")
        if not identified and not isinstance(value.get("member"), list):
            problems.add(where, "an anonymous Group needs 'member'")
        members = value.get("member", [])
        if not isinstance(members, list):
            problems.add(f"{where}.member", "must be an array")
        else:
            for index, member in enumerate(members):
                _agent(problems, member, f"{where}.member[{index}]", group_allowed=False)
    elif kind == "Agent":
        _object(problems, value, where, _AGENT_KEYS)
        identified = [ifi for ifi in _IFIS if ifi in value]
        if len(identified) != 1:
            problems.add(where, "an Agent has exactly one of mbox, mbox_sha1sum, openid, account")
    else:
        problems.add(f"{where}.objectType", f"must be Agent{' or Group' if group_allowed else ''}")
        return
    if "name" in value and not isinstance(value["name"], str):
        problems.add(f"{where}.name", "must be a string")
    if "mbox" in value and not (isinstance(value["mbox"], str) and value["mbox"].startswith("mailto:")):
        problems.add(f"{where}.mbox", "must be a mailto: IRI")
    if "mbox_sha1sum" in value and not (isinstance(value["mbox_sha1sum"], str) and _SHA1.match(value["mbox_sha1sum"])):
        problems.add(f"{where}.mbox_sha1sum", "must be a SHA-1 in hex")
    if "openid" in value:
        _iri(problems, value["openid"], f"{where}.openid")
    if "account" in value:
        account = value["account"]
        if _object(problems, account, f"{where}.account", {"homePage", "name"}, ("homePage", "name")):
            _iri(problems, account.get("homePage"), f"{where}.account.homePage", irl=True)
            if not isinstance(account.get("name"), str) or not account.get("name"):
                problems.add(f"{where}.account.name", "must be a non-empty string")


def _activity(problems: _Problems, value: Any, where: str) -> None:
    if not _object(problems, value, where, {"objectType", "id", "definition"}, ("id",)):
        return
    _iri(problems, value.get("id"), f"{where}.id")
    definition = value.get("definition")
    if definition is None:
        return
    if not _object(problems, definition, f"{where}.definition", _DEFINITION_KEYS):
        return
    for key in ("name", "description"):
        if key in definition:
            _language_map(problems, definition[key], f"{where}.definition.{key}")
    if "type" in definition:
        _iri(problems, definition["type"], f"{where}.definition.type")
    if "moreInfo" in definition:
        _iri(problems, definition["moreInfo"], f"{where}.definition.moreInfo", irl=True)
    if "extensions" in definition:
        _extensions(problems, definition["extensions"], f"{where}.definition.extensions")
    if "interactionType" in definition and definition["interactionType"] not in _INTERACTION_TYPES:
        problems.add(f"{where}.definition.interactionType", "is not an xAPI interaction type")


def _object_of(problems: _Problems, value: Any, where: str, *, sub_allowed: bool) -> None:
    if not isinstance(value, Mapping):
        problems.add(where, "must be an object")
        return
    kind = value.get("objectType", "Activity")
    if kind == "Activity":
        _activity(problems, value, where)
    elif kind in ("Agent", "Group"):
        _agent(problems, value, where)
    elif kind == "StatementRef":
        if _object(problems, value, where, {"objectType", "id"}, ("id",)):
            _uuid(problems, value.get("id"), f"{where}.id")
    elif kind == "SubStatement" and sub_allowed:
        if _object(problems, value, where, _SUB_STATEMENT_KEYS, ("actor", "verb", "object")):
            _statement_body(problems, value, where, sub_allowed=False)
    else:
        problems.add(f"{where}.objectType", f"'{kind}' is not allowed here")


def _result(problems: _Problems, value: Any, where: str) -> None:
    if not _object(problems, value, where, _RESULT_KEYS):
        return
    score = value.get("score")
    if score is not None and _object(problems, score, f"{where}.score", _SCORE_KEYS):
        for key in _SCORE_KEYS & set(score):
            if not _number(score[key]):
                problems.add(f"{where}.score.{key}", "must be a number")
        if _number(score.get("scaled")) and not -1 <= score["scaled"] <= 1:
            problems.add(f"{where}.score.scaled", "must be between -1 and 1")
        low, high, raw = score.get("min"), score.get("max"), score.get("raw")
        if _number(low) and _number(high) and low > high:
            problems.add(f"{where}.score", "min is greater than max")
        if _number(raw) and ((_number(low) and raw < low) or (_number(high) and raw > high)):
            problems.add(f"{where}.score.raw", "must be between min and max")
    for key in ("success", "completion"):
        if key in value and not isinstance(value[key], bool):
            problems.add(f"{where}.{key}", "must be true or false")
    if "response" in value and not isinstance(value["response"], str):
        problems.add(f"{where}.response", "must be a string")
    if "duration" in value and not (isinstance(value["duration"], str) and _DURATION.match(value["duration"])):
        problems.add(f"{where}.duration", "must be an ISO 8601 duration such as PT1M30S")
    if "extensions" in value:
        _extensions(problems, value["extensions"], f"{where}.extensions")


def _context(problems: _Problems, value: Any, where: str, *, activity_object: bool) -> None:
    if not _object(problems, value, where, _CONTEXT_KEYS):
        return
    if "registration" in value:
        _uuid(problems, value["registration"], f"{where}.registration")
    if "instructor" in value:
        _agent(problems, value["instructor"], f"{where}.instructor")
    if "team" in value:
        if not isinstance(value["team"], Mapping) or value["team"].get("objectType") != "Group":
            problems.add(f"{where}.team", "must be a Group")
        else:
            _agent(problems, value["team"], f"{where}.team")
    activities = value.get("contextActivities")
    if activities is not None and _object(problems, activities, f"{where}.contextActivities", _CONTEXT_ACTIVITY_KEYS):
        for key, items in activities.items():
            for index, item in enumerate(items if isinstance(items, list) else [items]):
                _activity(problems, item, f"{where}.contextActivities.{key}[{index}]")
    for key in ("revision", "platform"):
        if key in value:
            if not activity_object:
                problems.add(f"{where}.{key}", "is allowed only when the object is an Activity")
            if not isinstance(value[key], str):
                problems.add(f"{where}.{key}", "must be a string")
    if "language" in value and not (isinstance(value["language"], str) and _LANGUAGE_TAG.match(value["language"])):
        problems.add(f"{where}.language", "must be a language tag (RFC 5646)")
    if "statement" in value:
        ref = value["statement"]
        if _object(problems, ref, f"{where}.statement", {"objectType", "id"}, ("objectType", "id")):
            if ref.get("objectType") != "StatementRef":
                problems.add(f"{where}.statement.objectType", "must be StatementRef")
            _uuid(problems, ref.get("id"), f"{where}.statement.id")
    if "extensions" in value:
        _extensions(problems, value["extensions"], f"{where}.extensions")


def _statement_body(problems: _Problems, value: Mapping, where: str, *, sub_allowed: bool) -> None:
    prefix = f"{where}." if where else ""
    _agent(problems, value.get("actor"), f"{prefix}actor")
    verb = value.get("verb")
    if _object(problems, verb, f"{prefix}verb", {"id", "display"}, ("id",)):
        _iri(problems, verb.get("id"), f"{prefix}verb.id")
        if "display" in verb:
            _language_map(problems, verb["display"], f"{prefix}verb.display")
    target = value.get("object")
    _object_of(problems, target, f"{prefix}object", sub_allowed=sub_allowed)
    if "result" in value:
        _result(problems, value["result"], f"{prefix}result")
    if "context" in value:
        activity_object = isinstance(target, Mapping) and target.get("objectType", "Activity") == "Activity"
        _context(problems, value["context"], f"{prefix}context", activity_object=activity_object)
    if "timestamp" in value:
        _timestamp(problems, value["timestamp"], f"{prefix}timestamp")
    if "attachments" in value:
        attachments = value["attachments"]
        if not isinstance(attachments, list):
            problems.add(f"{prefix}attachments", "must be an array")
        else:
            for index, item in enumerate(attachments):
                spot = f"{prefix}attachments[{index}]"
                if _object(problems, item, spot, _ATTACHMENT_KEYS, ("usageType", "display", "contentType", "length",
                                                                    "sha2")):
                    _iri(problems, item.get("usageType"), f"{spot}.usageType")
                    _language_map(problems, item.get("display"), f"{spot}.display")


def statement_problems(statement: Any) -> list[str]:
    """What makes ``statement`` (parsed JSON) break the xAPI 1.0.3 statement rules; empty when valid."""
    problems = _Problems()
    if not _object(problems, statement, "", STATEMENT_KEYS, ("actor", "verb", "object")):
        return list(problems)
    if "id" in statement:
        _uuid(problems, statement["id"], "id")
    _statement_body(problems, statement, "", sub_allowed=True)
    if "stored" in statement:
        _timestamp(problems, statement["stored"], "stored")
    if "authority" in statement:
        _agent(problems, statement["authority"], "authority")
    if "version" in statement and not (isinstance(statement["version"], str)
                                       and ACCEPTED_VERSION.match(statement["version"])):
        problems.add("version", "must be 1.0.x")
    return list(problems)


def iso_duration_seconds(text: str) -> float | None:
    """Seconds of an ISO 8601 duration with hours, minutes and seconds (``PT1M30.5S``); None otherwise."""
    match = re.fullmatch(r"PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", text or "")
    if not match or text == "PT":
        return None
    hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds
