"""Authoring rules: what ``weike check`` reports about courses (courses.py) and brand learning centres (centres.py)."""

from weike.plugins.rules.centres import check_province_facts, statistics_ready
from weike.plugins.rules.contacts import plausible_phone

__all__ = ["check_province_facts", "plausible_phone", "statistics_ready"]
