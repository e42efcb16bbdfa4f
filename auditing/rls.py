"""Row-level security of the audit log: only administrators (and system maintenance) read it.

The audit triggers insert as the acting role, so every scope -- a teacher's,
the office's, a login's with none -- may insert; what may be inserted is the
triggers' business, and the append-only triggers still refuse UPDATE, DELETE
and TRUNCATE except for a prune.
"""

from __future__ import annotations

from growthcompass.rls.policies import IS_ADMIN, Policy

RLS_TABLES = ("audit_log",)
POLICIES = (
    Policy("audit_log", "audit_log_admin_read", command="SELECT", using=IS_ADMIN),
    Policy("audit_log", "audit_log_insert", command="INSERT", check="true"),
    Policy("audit_log", "audit_log_admin_delete", command="DELETE", using=IS_ADMIN),
)
