"""``SessionDateField``: the attended session's date, carried on the attendance row.

``attendances`` is range-partitioned by the date of the session (migration
0007), so the row needs that date of its own. The database guarantees it is
the session's date: a composite foreign key ``(session_id, session_date)``
references the unique ``(id, session_date)`` of ``class_sessions``, with
``ON UPDATE CASCADE`` so rescheduling a session moves its attendance along.

The field fills itself when the row is saved, like ``auto_now``: a
``BEFORE INSERT`` trigger cannot do it on a partitioned table, because the row
is routed to its partition (by the still-empty key) before the trigger runs,
and PostgreSQL refuses a trigger that would move it to another one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models


class SessionDateField(models.DateField):
    """A copy of ``session.session_date``, set from the row's session on every ``save()`` and ``bulk_create``.

    The session the instance already holds is used when it is loaded (no
    query); otherwise, only when the date is still empty, one query reads it.
    A stale date (``session_id`` changed by hand without the session) is not
    corrected here: the composite foreign key refuses the write.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> dt.date | None:
        session_field = model_instance._meta.get_field("session")
        if not isinstance(session_field, models.ForeignKey):
            raise TypeError(f"{type(model_instance).__name__}.session must be a ForeignKey to the session")
        value: dt.date | None = getattr(model_instance, self.attname)
        session_id = getattr(model_instance, session_field.attname)
        if session_field.is_cached(model_instance):
            session = session_field.get_cached_value(model_instance)
            if session is not None and session.pk == session_id:
                value = getattr(session, "session_date")  # noqa: B009 - any model with that field
        if value is None and session_id is not None:
            sessions: type[models.Model] = session_field.remote_field.model
            value = (
                sessions._default_manager.filter(pk=session_id)
                .values_list("session_date", flat=True)
                .first()
            )
        setattr(model_instance, self.attname, value)
        return value
