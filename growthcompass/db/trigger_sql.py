"""django-pgtrigger's installation SQL with a cheap ``pgtrigger.ignore`` check.

pgtrigger starts every trigger function with
``IF _pgtrigger_should_ignore(TG_NAME) IS TRUE``: a PL/pgSQL call whose
``BEGIN ... EXCEPTION`` block opens a subtransaction on every call, and which
raises and catches an error while ``pgtrigger.ignore`` is unset (almost
always). On a single-row statement that is a visible share of what auditing
costs, paid twice per audited statement when the trigger's own INSERT fires
another pgtrigger trigger.

``FastIgnoreTriggerSql`` is the same template (same function, same trigger,
same hash comment) with one change: the expensive function is called only
when ``current_setting('pgtrigger.ignore', true)`` mentions the trigger's
name. ``current_setting(..., true)`` returns NULL instead of raising when the
setting does not exist, and a NULL or zero ``strpos`` skips the call, so the
common path is two built-in calls and no subtransaction. ``pgtrigger.ignore(...)`` keeps its
exact meaning: whenever it names the trigger, the original check decides.

Migrations reference this class by its import path (the way they reference
``pgtrigger.compiler.UpsertTriggerSql``), so its template is frozen: a change
needs a new class, never an edit of this one.
"""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.db import models
from pgtrigger import compiler

__all__ = ["FastIgnoreTrigger", "FastIgnoreTriggerSql"]

_PGTRIGGER_IGNORE_CHECK = "IF ({ignore_func_name}(TG_NAME) IS TRUE) THEN"
# CASE, not AND: AND does not stop at a NULL left side (NULL AND x needs x), and the
# order in which AND evaluates its sides is not promised; CASE evaluates one branch.
_FAST_IGNORE_CHECK = (
    "IF (CASE WHEN strpos(current_setting('pgtrigger.ignore', true), TG_NAME) > 0\n"
    "                             THEN {ignore_func_name}(TG_NAME) END) IS TRUE THEN"
)


class FastIgnoreTriggerSql(compiler.UpsertTriggerSql):
    """pgtrigger's upsert template whose ignore check costs nothing unless ``pgtrigger.ignore`` names the trigger."""

    def get_template(self) -> str:
        template = super().get_template()
        if _PGTRIGGER_IGNORE_CHECK not in template:  # pragma: no cover - guards a pgtrigger upgrade
            raise RuntimeError("django-pgtrigger's trigger template changed: review FastIgnoreTriggerSql")
        return template.replace(_PGTRIGGER_IGNORE_CHECK, _FAST_IGNORE_CHECK)


class FastIgnoreTrigger(pgtrigger.Trigger):
    """A pgtrigger ``Trigger`` compiled with ``FastIgnoreTriggerSql``."""

    def compile(self, model: models.Model) -> compiler.Trigger:
        compiled = super().compile(model)
        kwargs: dict[str, Any] = dict(compiled.sql.kwargs)
        return compiler.Trigger(name=compiled.name, sql=FastIgnoreTriggerSql(**kwargs))
