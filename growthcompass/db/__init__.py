"""Shared PostgreSQL infrastructure: connection settings, routing, safe queries."""
