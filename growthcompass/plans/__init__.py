"""Query plans captured automatically for statements slower than ``SLOW_QUERY_MS``.

When the query instrument (``growthcompass.metrics``) sees an execution at
least ``SLOW_QUERY_MS`` long it hands the statement to ``capture``, which
queues it and returns: a worker thread of the process explains it later,
over a direct connection of its own (``explain_statement``: the generic plan,
never ``ANALYZE``, never a statement that writes), and keeps the plan in
``CapturedPlan`` -- one row per statement, at most ``PLANS_MAX_ROWS``.
Each statement is explained at most once per ``PLANS_RECAPTURE_S`` and the
process at most ``PLANS_MAX_PER_MINUTE`` times a minute.

``query_report --plans`` and the admin's read-only "Captured plans" page show
them, sequential scans of large tables flagged. Reference: docs/metrics.md.
"""
