"""The dashboard's query-string filters, validated: a bad value is a ``FilterError``, shown with a 400."""

from __future__ import annotations

import datetime as dt

from dashboards.selectors.school import TermChoice, term_current
from students.models import GradeLevel

__all__ = ["FilterError", "parse_grade", "parse_term"]


class FilterError(ValueError):
    """A filter value the page cannot use; the message says what was expected."""


def parse_grade(value: str | None) -> int | None:
    """``?grade=`` as a grade level (0 = Kindergarten .. 12), or ``None`` for every grade."""
    if value is None or value == "":
        return None
    try:
        grade = int(value)
    except ValueError:
        raise FilterError(f"grade must be a whole number from 0 to 12, not {value!r}") from None
    if grade not in GradeLevel.values:
        raise FilterError(f"grade must be from 0 (Kindergarten) to 12, not {grade}")
    return grade


def parse_term(value: str | None, terms: tuple[TermChoice, ...], today: dt.date) -> TermChoice | None:
    """``?term=`` as one of ``terms`` (by id); the current term when absent; ``None`` when there are no terms."""
    if value is None or value == "":
        return term_current(terms, today)
    try:
        term_id = int(value)
    except ValueError:
        raise FilterError(f"term must be a term's id, not {value!r}") from None
    for term in terms:
        if term.id == term_id:
            return term
    raise FilterError(f"there is no term with id {term_id}")
