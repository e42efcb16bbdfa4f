"""Redis caching: configuration, cached selectors, invalidation and statistics."""
