"""One phone rule for every form that prints a phone (附件3, 附件4): course.yml, centre.yml, weike.yml."""

from __future__ import annotations

import pytest

from weike.builder.running.checking import run_check
from weike.plugins.rules.contacts import plausible_email, plausible_phone
from tests.conftest import COURSE_YML
from tests.plugins.province.test_centre_rules import GOOD as CENTRE_YML


@pytest.mark.parametrize("phone", ["8888666", "88886666", "12345", "请打电话", "0571-8888", "1380013800000"])
def test_a_phone_no_one_can_dial_is_the_same_error_in_a_course_and_a_centre(make_repo, phone):
    root = make_repo({
        "courses/c/course.yml": COURSE_YML.replace("phone: 0571-88886666", f'phone: "{phone}"'),
        "centres/qinghe/centre.yml": CENTRE_YML.replace("phone: 0571-88886666", f'phone: "{phone}"'),
        "weike.yml": f'department:\n  name: 测试省教育厅\n  contact: 钱处长\n  phone: "{phone}"\n',
    }, valid_courses=("c",))
    found = {(d.code, d.severity.value, d.location.file, d.location.line) for d in run_check(root).diagnostics
             if "phone" in d.message_en}
    assert found == {("E112", "error", "courses/c/course.yml", 14),
                     ("E705", "error", "centres/qinghe/centre.yml", 6),
                     ("E804", "error", "weike.yml", 4)}


@pytest.mark.parametrize("phone", ["13800138000", "0571-88886666", "(0571)88886666", "0571-88886666转123",
                                   "+86 571 8888 6666", "400-888-6666"])
def test_a_dialable_phone_passes_everywhere(make_repo, phone):
    root = make_repo({
        "courses/c/course.yml": COURSE_YML.replace("phone: 0571-88886666", f'phone: "{phone}"'),
        "centres/qinghe/centre.yml": CENTRE_YML.replace("phone: 0571-88886666", f'phone: "{phone}"'),
    }, valid_courses=("c",))
    assert [d.code for d in run_check(root).diagnostics] == []


def test_plausible_phones_and_emails():
    for phone in ("13800138000", "138 0013 8000", "+86 138-0013-8000", "0571-88886666", "(0571)88886666",
                  "010-66097008", "0571-88886666转123", "+86-10-66097008", "800 810 8888"):
        assert plausible_phone(phone), phone
    # A bare local number rings nowhere from another city; 12345 is the government hotline.
    for phone in ("请打电话", "123", "12345", "8888666", "88886666", "0571-8888", "1380013800000", "abc-88886666"):
        assert not plausible_phone(phone), phone
    assert plausible_email("a.b@example.edu.cn")
    for email in ("a@b", "a b@example.cn", "@example.cn", "a@@example.cn", "a@example.c"):
        assert not plausible_email(email), email
