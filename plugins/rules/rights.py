"""The rights gate (附件2: 公益属性、无版权纠纷、同意开放共享): E501 keeps a course whose three
attestations are not all true out of the national platforms' bundles and the province's 附件3.

Checked where those outputs are made (the national targets, the summary table), not in the check
stage: a course without the rights is still a good course for the site and SCORM.
"""

from __future__ import annotations

from weike.builder.contracts.model import RIGHTS_KEYS, Course, Diagnostic


def rights_not_cleared(course: Course) -> Diagnostic | None:
    """E501 at the first attestation that is not true, or ``None`` when the course is cleared.

    The same diagnostic serves both national targets and the province summary table, so a build
    that hits all three reports it once.
    """
    rights = course.rights
    if rights.granted:
        return None
    field = next(key for key in RIGHTS_KEYS if getattr(rights, key) is not True)
    if all(getattr(rights, key) is None for key in RIGHTS_KEYS):
        # Nothing attested at all: course.yml cannot be read now (a stale course stands in), or says nothing.
        return Diagnostic.error(
            "E501", course.where(f"rights.{field}"),
            "无法确认三项承诺（公益属性、无版权纠纷、同意开放共享）：course.yml 现在读不出来或没有写 rights，"
            "不能打包上传国家平台，也不能列入省级汇总表",
            "rights cannot be confirmed (course.yml cannot be read now, or states no rights): no "
            "national-platform bundle, not in the province summary table",
            hint="先改正 course.yml 的错误；确认课程确实符合后，在 rights 下把三项都写成 true。网站和 SCORM 包不受影响。",
        )
    return Diagnostic.error(
        "E501", course.where(f"rights.{field}"),
        "三项承诺（公益属性、无版权纠纷、同意开放共享）没有全部为 true：不能打包上传国家平台，也不能列入省级汇总表",
        "rights not cleared (public_good, no_copyright_dispute and share_to_national_platforms must all "
        "be true): no national-platform bundle, not in the province summary table",
        hint="确认课程确实符合后，在 course.yml 的 rights 下把三项都写成 true。网站和 SCORM 包不受影响。",
    )
