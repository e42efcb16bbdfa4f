"""The staff-only, read-only JSON API over the safe query API (``growthcompass.db.query``)."""
