"""Reproducible demo data for Growth Compass, loaded with COPY.

``seed_demo`` is the entry point (the ``seed_demo`` management command wraps
it). The package is split by concern: word lists (``names``, ``catalogue``,
``feedback_text``), the pure plan (``streams``, ``rows``, ``plan``,
``attendance_rows``, ``feedback_notes``), and the database side (``loader``,
``service``).
"""

from __future__ import annotations

from growthcompass.demo.rows import PlanOptions
from growthcompass.demo.service import DEFAULT_SEED, DemoSeedRefused, SeedResult, demo_data_present, seed_demo

__all__ = ["DEFAULT_SEED", "DemoSeedRefused", "PlanOptions", "SeedResult", "demo_data_present", "seed_demo"]
