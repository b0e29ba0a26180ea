"""Authoring rules: what ``weike check`` reports about courses (courses.py) and brand learning centres (centres.py)."""

from weike.plugins.rules.centres import check_province_facts, plausible_phone, statistics_ready

__all__ = ["check_province_facts", "plausible_phone", "statistics_ready"]
