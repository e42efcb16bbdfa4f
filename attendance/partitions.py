"""attendances is partitioned by calendar month on ``session_date`` (migration 0007); its registration.

Monthly, like the audit log, rather than per term: "this month's attendance"
(the register, the dashboards' recent weeks) is then one partition, the
periods are the same calendar months ``partitions_maintain`` already manages,
and a term (about four months, with holidays that differ per school) would
make partitions four times larger for no query that reads a whole term more
often than a month. Attendance is kept for good: no retention.
"""

from __future__ import annotations

from growthcompass.partitions import PartitionedTable, register

ATTENDANCES = register(
    PartitionedTable(
        table="attendances",
        column="session_date",
        # A row moved out of the DEFAULT partition into its month's is not deleted:
        # the audit and cache triggers (cloned onto the DEFAULT partition) stand aside.
        move_ignores=("attendance.Attendance:audit_delete", "attendance.Attendance:queryset_tables"),
    )
)
