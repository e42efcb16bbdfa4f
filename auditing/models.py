"""The audit log (see the auditing issue); models arrive with the audit triggers."""
