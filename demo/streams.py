"""Seeded randomness for the plan.

Each concern draws from its own ``random.Random`` stream, seeded with a string
(which Python hashes with SHA-512, independent of ``PYTHONHASHSEED``), so the
same seed reproduces the same data on any machine and adding a column to
feedback does not reshuffle everybody's attendance.
"""

from __future__ import annotations

import random
from typing import Any


def stream(seed: int, concern: str, cohort: int = 0) -> random.Random:
    """An independent, reproducible random stream for one concern of one cohort of the plan.

    Cohort 0 keeps the name a whole school's stream had before the school was
    split into cohorts, so a school of one cohort reproduces as it always did.
    """
    name = f"growthcompass-demo:{seed}:{concern}" + (f":cohort-{cohort}" if cohort else "")
    return random.Random(name)  # noqa: S311 - demo data, not security


def weighted(rng: random.Random, weights: dict[Any, int]) -> Any:
    """Pick a key of ``weights`` with probability proportional to its value."""
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]
