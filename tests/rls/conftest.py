"""Row-level-security tests run as an application does: no fallback scope (fail closed)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cache.conftest import cache_store, test_caches  # noqa: F401 - the cache tests' private store
from tests.rls.school import School, build_school


@pytest.fixture
def school(db: None, settings: Any) -> School:
    built = build_school()
    settings.RLS_FALLBACK_CONTEXT = None
    return built


@pytest.fixture
def committed_school(transactional_db: None, settings: Any) -> School:
    """The same school committed: for tests that read it from other connections and threads."""
    built = build_school()
    settings.RLS_FALLBACK_CONTEXT = None
    return built
