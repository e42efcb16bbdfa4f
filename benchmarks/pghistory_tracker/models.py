"""django-pghistory's statement-level tracker on ``attendances``, as its documentation sets it up.

``pghistory.create_event_model`` with ``level=pghistory.Statement``: one
statement-level trigger per operation inserting every changed row into
``pghistory_tracker_attendanceevent`` (all of the row's columns, the label,
the time, the tracked row's id and the context foreign key, pghistory's
defaults). Trigger names start with ``pgh_`` so the benchmark finds them.
"""

from __future__ import annotations

from typing import Any

import pghistory

from attendance.models import Attendance

AttendanceEvent: Any = pghistory.create_event_model(
    Attendance,
    pghistory.InsertEvent(trigger_name="pgh_insert"),
    pghistory.UpdateEvent(trigger_name="pgh_update"),
    pghistory.DeleteEvent(trigger_name="pgh_delete"),
    level=pghistory.Statement,
    model_name="AttendanceEvent",
    app_label="pghistory_tracker",
    abstract=False,
)

__all__ = ["AttendanceEvent"]
