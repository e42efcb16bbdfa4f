"""Reproducible demo data for Growth Compass, loaded with COPY.

An app above every domain app (it fills all of them), so that the
infrastructure in ``growthcompass/`` need not know them. ``demo.services.seed_demo``
is the entry point (the ``seed_demo`` management command wraps it). The
package is split by concern: word lists (``names``, ``catalogue``,
``feedback_text``), the pure plan (``streams``, ``rows``, ``plan``,
``attendance_rows``, ``feedback_notes``), and the database side (``loader``,
``services``).

Nothing is imported here: Django imports an app's package before its models
are ready, and ``services`` needs the domain models.
"""
