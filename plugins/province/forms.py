"""What the call's forms say about the values weike reads: the rows of 附件4 and the columns of 附件5.

The core declares ``centre.yml`` and ``weike.yml``'s ``statistics`` once, with the form's labels,
the guidance printed under them and what one figure is a part of (:mod:`weike.builder.repository.centre`);
the forms and the rules that quote them import those names from here.
"""

from __future__ import annotations

# The labels are the declared descriptions of the fields the core reads (one declaration gives the
# editors' schema and the forms' labels); this module names them for the forms and their rules.
from weike.builder.repository.centre import CENTRE_TEXTS, STATISTIC_FIELDS, STATISTICS_NAME_LABEL, StatisticField

__all__ = ["CENTRE_TEXTS", "STATISTIC_FIELDS", "STATISTICS_NAME_LABEL", "StatisticField"]
