"""Authoring rules about courses: what ``weike check`` reports about a course (courses.py), the
rights gate the national platforms and 附件3 apply (rights.py), and the checks of texts, phones and
pictures the province's centre rules share (texts.py, contacts.py, courses.py)."""

from weike.plugins.rules.contacts import phone_problem, plausible_email, plausible_phone
from weike.plugins.rules.courses import check_image_file
from weike.plugins.rules.rights import rights_not_cleared
from weike.plugins.rules.texts import TextLimit, text_problems

__all__ = ["TextLimit", "check_image_file", "phone_problem", "plausible_email", "plausible_phone",
           "rights_not_cleared", "text_problems"]
