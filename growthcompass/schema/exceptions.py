"""Errors raised by the schema services; commands turn them into ``CommandError``."""

from __future__ import annotations


class MigrationRefused(Exception):
    """A migration request was refused before anything in the database changed."""
