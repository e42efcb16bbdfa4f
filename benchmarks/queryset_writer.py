"""The benchmark's other process: raw SQL writes on a plain psycopg connection (no Django, no cache code).

Reads ``<student id> <version>`` lines on stdin, runs one autocommit UPDATE
each, and answers ``ok`` once it has committed.
"""

from __future__ import annotations

import sys

import psycopg


def main(conninfo: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for line in sys.stdin:
            student_id, version = line.split()
            conn.execute("UPDATE students SET leaving_reason = %s WHERE id = %s", [version, int(student_id)])
            sys.stdout.write("ok\n")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
