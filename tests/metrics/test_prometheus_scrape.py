"""A real Prometheus server scrapes the app over loopback and answers queries for the exported series.

Slow (``make test-slow``): it starts ``prometheus`` (Debian's package, ``make
prometheus-deps``) on 127.0.0.1 with a private data directory, pointed at
the live test server with the bearer token, and the alert rules loaded. The
deadline guards against a hang; nothing here measures speed.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from tests.factories import StaffUserFactory
from tests.metrics.deploy_files import ALERT_RULES, dashboard_expressions, require_binary

pytestmark = pytest.mark.slow

TOKEN = "scrape-test-token"
DEADLINE_S = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, **headers: str) -> Any:
    assert url.startswith(("http://127.0.0.1:", "http://localhost:")), url  # loopback only
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - checked above
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - checked above
        return json.loads(response.read())


class PrometheusServer:
    def __init__(self, root: Path, target: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = root / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {ALERT_RULES}\n"
            "scrape_configs:\n  - job_name: growthcompass\n    metrics_path: /metrics\n"
            f"    authorization:\n      type: Bearer\n      credentials: {TOKEN}\n"
            f"    static_configs:\n      - targets: ['{target}']\n",
            encoding="utf-8",
        )
        self.log = (root / "prometheus.log").open("w")
        self.process = subprocess.Popen(
            [
                require_binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def query(self, expression: str) -> dict[str, Any]:
        """The API's answer; a refused expression answers 400 with ``{"status": "error", "error": ...}``."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        try:
            answer: dict[str, Any] = _get(url)
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read())
        return answer

    def wait_for(self, what: str, condition: Any) -> Any:
        ends = time.monotonic() + DEADLINE_S
        last: Any = None
        while time.monotonic() < ends:
            assert self.process.poll() is None, f"prometheus exited: {self.log.name}"
            try:
                last = condition()
            except OSError:
                last = None
            if last:
                return last
            time.sleep(0.5)
        raise AssertionError(f"{what}: not within {DEADLINE_S:g} s (last answer {last!r}; log {self.log.name})")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)
        self.log.close()


@pytest.fixture
def prometheus(live_server: Any, settings: Any, tmp_path: Path) -> Iterator[PrometheusServer]:
    settings.METRICS_TOKEN = TOKEN
    target = live_server.url.removeprefix("http://")
    server = PrometheusServer(tmp_path, target)
    yield server
    server.stop()


def _series(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def test_prometheus_scrapes_the_app_and_answers_for_its_series(prometheus: PrometheusServer, live_server: Any) -> None:
    staff: User = StaffUserFactory.create(username="scrape-staff")
    staff.set_password("scrape-password")
    staff.save()
    # The app refuses a scrape without the token (the precondition of the scrape below working only with it).
    with pytest.raises(urllib.error.HTTPError) as refused:
        _get(f"{live_server.url}/metrics")
    assert refused.value.code == 401

    prometheus.wait_for("prometheus ready", lambda: _get(f"{prometheus.url}/api/v1/status/buildinfo"))
    targets = prometheus.wait_for(
        "the app's target up",
        lambda: [t for t in _get(f"{prometheus.url}/api/v1/targets")["data"]["activeTargets"] if t["health"] == "up"],
    )
    assert targets[0]["labels"]["job"] == "growthcompass"

    redis_up = prometheus.wait_for("gc_redis_up scraped", lambda: _series(prometheus.query("gc_redis_up")))
    assert redis_up[0]["value"][1] == "1"
    scraped = prometheus.wait_for(
        "the scrape's own requests counted",
        lambda: _series(prometheus.query('gc_http_requests_total{route="/metrics",status="200"} > 0')),
    )
    assert scraped[0]["metric"]["method"] == "GET"
    statements = prometheus.wait_for(
        "statement fingerprints joined to their text",
        lambda: _series(
            prometheus.query("gc_db_queries_total * on (alias, statement) group_left(text) gc_db_statement_info")
        ),
    )
    assert all(series["metric"]["text"] for series in statements)


def test_prometheus_accepts_every_dashboard_expression_and_evaluates_every_rule(prometheus: PrometheusServer) -> None:
    prometheus.wait_for("gc_redis_up scraped", lambda: _series(prometheus.query("gc_redis_up")))

    for expression in dashboard_expressions(variables=False):
        concrete = expression.replace("$__rate_interval", "1m").replace('"$job"', '".*"')
        answer = prometheus.query(concrete)
        assert answer["status"] == "success", (expression, answer)

    def evaluated() -> list[dict[str, Any]]:
        groups = _get(f"{prometheus.url}/api/v1/rules")["data"]["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return rules if rules and all(rule["health"] == "ok" for rule in rules) else []

    rules = prometheus.wait_for("every alert rule evaluated without error", evaluated)
    assert len(rules) >= 10
    firing = {rule["name"] for rule in rules if rule["state"] == "firing"}
    assert "GrowthCompassRedisDown" not in firing
