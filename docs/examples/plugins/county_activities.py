"""示范县学习活动清单 (the county's xAPI activity list): ``dist/activities/activities.json``.

The county's learning record store must know every lecture before a statement about it arrives.
This output is neither a course's upload bundle nor a report, so the module declares a kind of
output of its own: ``weike build`` runs it after the media (it lists only delivered lectures),
``weike build --only activities`` writes just it, and weike's core is not touched. Each id is the
one the lecture pages' own statements name: the page's address, or a ``urn:weike:`` name
without ``site_url``.
"""

import json

from weike.builder.contracts.context import OutputStage, StageOutcome
from weike.builder.contracts.hookspecs import hookimpl
from weike.builder.keeping.outputs import write_atomic
from weike.plugins.site import site_url

FOLDER = "activities"
LIST = "activities.json"
VIDEO = "https://w3id.org/xapi/video/activity-type/video"


def activity_id(site, course, lecture):
    if site:
        return f"{site.rstrip('/')}/courses/{course.slug}/{lecture.slug}/"
    return f"urn:weike:courses:{course.slug}:{lecture.slug}"


def activity(site, course, lecture, delivered):
    return {
        "id": activity_id(site, course, lecture),
        "definition": {
            "type": VIDEO,
            "name": {"zh-CN": lecture.title or lecture.slug},
            "description": {"zh-CN": lecture.knowledge_point or ""},
            "extensions": {"https://w3id.org/xapi/video/extensions/length": delivered[lecture.key].duration},
        },
    }


def write_activity_list(context, courses, delivered, centres, made):
    site = site_url(context.config)
    activities = [activity(site, course, lecture, delivered)
                  for course in courses for lecture in course.lectures if lecture.key in delivered]
    path = context.paths.dist / FOLDER / LIST
    write_atomic(path, (json.dumps(activities, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
    return StageOutcome(outputs=(path,), summary=(
        f"学习活动清单：{len(activities)} 个微课写入 {context.paths.shown(path)} "
        f"(activity list: {len(activities)} lecture(s))",))


@hookimpl
def weike_output_stages():
    return [OutputStage(name="activities", title="活动清单 activities", make=write_activity_list,
                        needs=("media",), whole_repository=True)]
