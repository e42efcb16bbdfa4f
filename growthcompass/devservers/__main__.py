"""``python -m growthcompass.devservers start|stop|status [--root DIR] [--json]``.

Manages the embedded development servers by hand (``make devservers-*``).
Django is not involved, so this works before migrations or settings do.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from growthcompass.devservers import (
    DevServerError,
    PostgresStatus,
    RedisStatus,
    ensure_postgres,
    ensure_redis,
    postgres_status,
    redis_status,
    stop_postgres,
    stop_redis,
)

# The repository root: the parent of the ``growthcompass`` package.
DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m growthcompass.devservers",
        description="Start, stop or inspect the development PostgreSQL and Redis (state in <root>/.devdata/).",
    )
    parser.add_argument("command", choices=("start", "stop", "status"))
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="repository root (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    return parser


def _describe(name: str, status: PostgresStatus | RedisStatus, socket: str) -> str:
    if status["running"]:
        return f"{name}: running (pid {status['pid']}, version {status['version']}, socket {socket})"
    if status["pid"] is not None:
        return f"{name}: NOT answering (pid {status['pid']} alive, socket {socket}, log {status['log_file']})"
    return f"{name}: not running (socket {socket})"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root: Path = args.root.resolve()
    try:
        if args.command == "start":
            urls = {"DATABASE_URL": ensure_postgres(root), "REDIS_URL": ensure_redis(root)}
            if args.json:
                print(json.dumps(urls))
            else:
                for key, value in urls.items():
                    print(f"{key}={value}")
        elif args.command == "stop":
            stopped = {"postgres": stop_postgres(root), "redis": stop_redis(root)}
            if args.json:
                print(json.dumps(stopped))
            else:
                for name, was_running in stopped.items():
                    print(f"{name}: {'stopped' if was_running else 'was not running'}")
        else:
            pg, rd = postgres_status(root), redis_status(root)
            if args.json:
                print(json.dumps({"postgres": pg, "redis": rd}))
            else:
                print(_describe("postgres", pg, pg["socket_dir"]))
                print(_describe("redis", rd, rd["socket"]))
            if not (pg["running"] and rd["running"]):
                return 1
    except DevServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
