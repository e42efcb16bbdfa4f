"""The alert rules pass ``promtool check rules`` and their unit tests (``promtool test rules``)."""

from __future__ import annotations

import subprocess

from tests.metrics.deploy_files import ALERT_RULES, ALERT_TESTS, require_binary

PROMTOOL_TIMEOUT_S = 120  # a guard against a hang, not a speed limit


def test_alert_rules_pass_promtool_check() -> None:
    promtool = require_binary("promtool")

    result = subprocess.run(
        [promtool, "check", "rules", str(ALERT_RULES)], capture_output=True, text=True, timeout=PROMTOOL_TIMEOUT_S
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_alert_rules_pass_their_unit_tests() -> None:
    promtool = require_binary("promtool")

    result = subprocess.run(
        [promtool, "test", "rules", ALERT_TESTS.name],
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT_S,
        cwd=ALERT_TESTS.parent,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    rules = {
        line.split(":", 1)[1].strip()
        for line in ALERT_RULES.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("- alert:")
    }
    tested = {
        line.split(":", 1)[1].strip()
        for line in ALERT_TESTS.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("alertname:")
    }
    assert len(rules) >= 10

    assert rules <= tested, f"alerts without a unit test: {sorted(rules - tested)}"


def test_ci_installs_promtool_before_the_suites_run() -> None:
    from tests.metrics.deploy_files import DEPLOY

    root = DEPLOY.parent
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (root / "Makefile").read_text(encoding="utf-8")

    assert "prometheus-deps:" in makefile
    assert "apt-get" in makefile.split("prometheus-deps:", 1)[1]
    commands = [line.strip() for line in ci.splitlines() if not line.strip().startswith("#")]
    assert commands.index("make prometheus-deps") < commands.index("make test")
