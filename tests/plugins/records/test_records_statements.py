"""The xAPI 1.0.3 statement rules: weike's own statement shape passes, each broken rule is named."""

from __future__ import annotations

import copy

import pytest

from weike.plugins.records.statements import (
    EXT_LENGTH,
    EXT_PROGRESS,
    VERB_COMPLETED,
    iso_duration_seconds,
    statement_problems,
)


def weike_statement(**changes) -> dict:
    """A statement shaped like records.js writes them."""
    statement = {
        "id": "3f1c2a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c",
        "actor": {"objectType": "Agent", "account": {"homePage": "https://weike.invalid/",
                                                     "name": "0b8f1d2e-3c4a-4b5c-8d6e-7f8091a2b3c4"}},
        "verb": {"id": VERB_COMPLETED, "display": {"en-US": "completed"}},
        "object": {"objectType": "Activity", "id": "urn:weike:courses:demo:01-lecture-1",
                   "definition": {"type": "https://w3id.org/xapi/video/activity-type/video",
                                  "name": {"zh-CN": "第一讲"}}},
        "context": {"contextActivities": {"parent": [{"objectType": "Activity", "id": "urn:weike:courses:demo",
                                                      "definition": {"name": {"zh-CN": "测试课程"}}}]},
                    "platform": "weike", "language": "zh-CN", "extensions": {EXT_LENGTH: 12.0}},
        "result": {"completion": True, "duration": "PT11.98S", "extensions": {EXT_PROGRESS: 0.99}},
        "timestamp": "2026-12-07T06:45:32.123Z",
    }
    statement.update(changes)
    return statement


def test_weikes_statement_is_valid():
    assert statement_problems(weike_statement()) == []
    assert statement_problems({**weike_statement(), "stored": "2026-12-07T06:45:33.000Z", "version": "1.0.3"}) == []


def _broken(path: str, value):
    statement = weike_statement()
    *parents, last = path.split(".")
    target = statement
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return statement


_DELETE = object()


@pytest.mark.parametrize(("path", "value", "named"), [
    ("id", "not-a-uuid", "id: must be a UUID"),
    ("actor", _DELETE, "'actor' is required"),
    ("verb", _DELETE, "'verb' is required"),
    ("object", _DELETE, "'object' is required"),
    ("verb.id", "launched", "verb.id: must be an absolute IRI"),
    ("verb.display", {"not a tag!": "x"}, "verb.display"),
    ("actor.mbox", "mailto:a@b.cn", "exactly one of"),
    ("actor.account", {"homePage": "weike", "name": "x"}, "homePage: must be an absolute IRL"),
    ("actor.objectType", "Robot", "actor.objectType"),
    ("object.id", "no scheme", "object.id: must be an absolute IRI"),
    ("object.definition.name", "第一讲", "must be a language map"),
    ("result.duration", "11.98 seconds", "ISO 8601 duration"),
    ("result.completion", "yes", "result.completion: must be true or false"),
    ("result.score", {"scaled": 2}, "between -1 and 1"),
    ("result.extensions", {"progress": 1}, "must be an absolute IRI"),
    ("timestamp", "yesterday", "ISO 8601 date and time"),
    ("context.registration", "1234", "context.registration: must be a UUID"),
    ("context.language", "中文", "language tag"),
    ("result.response", None, "must not be null"),
    ("mood", "happy", "unknown property 'mood'"),
    ("version", "2.0.0", "must be 1.0.x"),
])
def test_each_broken_rule_is_named(path, value, named):
    problems = statement_problems(_broken(path, value))
    assert any(named in problem for problem in problems), problems


def test_platform_is_only_for_activity_objects():
    statement = weike_statement(object={"objectType": "Agent", "mbox": "mailto:teacher@example.cn"})
    assert any("platform: is allowed only when the object is an Activity" in p for p in statement_problems(statement))


def test_not_an_object_at_all():
    assert statement_problems([weike_statement()]) == ["must be a JSON object"]
    assert statement_problems(copy.deepcopy(weike_statement(actor={"objectType": "Group"}))) != []


def test_iso_durations():
    assert iso_duration_seconds("PT11.98S") == pytest.approx(11.98)
    assert iso_duration_seconds("PT1H2M3S") == 3723
    assert iso_duration_seconds("PT") is None and iso_duration_seconds("12") is None
