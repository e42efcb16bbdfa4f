"""A throwaway app, installed only by the test settings, that takes part in every registry from its own files.

It proves the registries work: its model is cached (``cache.py``), audited
(``audit.py``), served by the safe query API (``query_api.py``) and checked by
``healthcheck`` (``health.py``), and no file outside this package names it.
"""
