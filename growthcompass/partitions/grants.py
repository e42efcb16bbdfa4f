"""A relation's privileges, read from one relation and given to another.

A table or view created again under an old name (the partitioned table that
replaces a heap, a materialized view carried over to it) starts with no
privileges but its owner's. Whatever roles were granted on the old one are
granted the same on the new one, so an application role keeps its access
across the conversion.
"""

from __future__ import annotations

from django.db.backends.utils import CursorWrapper
from psycopg import sql

__all__ = ["copy_grants", "grants_of", "restore_grants"]

GRANTS_SQL = """
SELECT a.privilege_type, a.grantee = 0, pg_get_userbyid(a.grantee), a.is_grantable
FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
WHERE c.oid = to_regclass(%s) AND a.grantee <> c.relowner
ORDER BY 3, 1
"""

Grant = tuple[str, bool, str, bool]


def grants_of(cursor: CursorWrapper, relation: str) -> list[Grant]:
    """``(privilege, to_public, grantee, with_grant_option)`` for each privilege held by a role other than the owner."""
    cursor.execute(GRANTS_SQL, [relation])
    return [(str(p), bool(public), str(grantee), bool(option)) for p, public, grantee, option in cursor.fetchall()]


def restore_grants(cursor: CursorWrapper, relation: str, grants: list[Grant]) -> None:
    for privilege, to_public, grantee, option in grants:
        cursor.execute(
            sql.SQL("GRANT {privilege} ON {relation} TO {grantee}{option}")
            .format(
                privilege=sql.SQL(privilege),  # from aclexplode: SELECT, INSERT, ... never user input
                relation=sql.Identifier(relation),
                grantee=sql.SQL("PUBLIC") if to_public else sql.Identifier(grantee),
                option=sql.SQL(" WITH GRANT OPTION" if option else ""),
            )
            .as_string(None)
        )


def copy_grants(cursor: CursorWrapper, *, source: str, target: str) -> None:
    restore_grants(cursor, target, grants_of(cursor, source))
