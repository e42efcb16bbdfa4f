"""The cache tests' fixtures (a private prefix, a listener thread), shared with the registry tests."""

from tests.cache.conftest import cache_store, listener, test_caches  # noqa: F401 - pytest fixtures
