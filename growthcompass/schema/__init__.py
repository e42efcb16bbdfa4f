"""Migration management: checksums of applied migrations and the migrate_* commands."""
