"""The dashboard in a real browser (Chromium through Playwright): log in, open every page, count the marks.

The expected number of marks of each chart is computed from the demo school's
base tables with the ORM (not from the dashboard's selectors), before the
browser starts. With ``DASHBOARD_SCREENSHOTS=<dir>`` (``make screenshots``) the
test also saves a PNG of every page, light and dark.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from attendance.models import Attendance, AttendanceStatus, ClassSession
from courses.models import Enrollment, EnrollmentStatus, Term
from dashboards.models import StudentMetrics
from dashboards.selectors.school import RATE_BANDS, term_current, terms_all
from demo.services import seed_demo
from feedback.models import ParsedStudentFeedback
from tests.dashboards.browser import chromium_path, screenshots_dir

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"
DEMO_STUDENTS = 150


@dataclass(frozen=True)
class Expected:
    """Each page's path and its charts' mark counts, from the base tables."""

    pages: dict[str, str]
    marks: dict[str, dict[str, int]]


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _weeks_with_a_rate(records: Any) -> int:
    counted = records.exclude(status=AttendanceStatus.EXCUSED).values_list("session__session_date", flat=True)
    return len({_week(day) for day in counted})


def _expected(today: dt.date) -> Expected:
    term = term_current(terms_all(), today)
    assert term is not None
    term_model = Term.objects.get(pk=term.id)
    held = Attendance.objects.filter(session__is_cancelled=False, session__session_date__lte=today)
    bands = set()
    for grade, rate in StudentMetrics.objects.filter(status="active", attendance_rate__isnull=False).values_list(
        "grade_level", "attendance_rate"
    ):
        assert rate is not None
        bands.add((grade, next(i for i, (_, low, high) in enumerate(RATE_BANDS) if low <= rate < high)))
    in_term = held.filter(
        session__course__term=term_model,
        session__session_date__gte=term_model.starts_on,
        session__session_date__lte=term_model.ends_on,
    )
    # A student with feedback, an active enrolment and attendance this term.
    enrolment = (
        Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, course__term=term_model, student__status="active")
        .filter(student__feedback__isnull=False)
        .order_by("student_id")
        .first()
    )
    assert enrolment is not None
    student_id, course_id = enrolment.student_id, enrolment.course_id
    feedback = ParsedStudentFeedback.objects.filter(student_id=student_id).order_by("-parsed_at")[:52]
    roster = Enrollment.objects.filter(course_id=course_id, status=EnrollmentStatus.ACTIVE).count()
    sessions = ClassSession.objects.filter(course_id=course_id, is_cancelled=False, session_date__lte=today).count()
    base = reverse("admin:dashboards_school")
    return Expected(
        pages={
            "school": base,
            "student": reverse("admin:dashboards_student", args=[student_id]),
            "course": reverse("admin:dashboards_course", args=[course_id]),
            "operations": reverse("admin:dashboards_operations"),
        },
        marks={
            "school": {"grades": len(bands), "weekly": _weeks_with_a_rate(in_term)},
            "student": {
                "attendance": _weeks_with_a_rate(in_term.filter(student_id=student_id)),
                "feedback": sum(len(f.scores) for f in feedback),
            },
            "course": {"grid": roster * sessions},
            "operations": {},
        },
    )


@pytest.fixture
def demo_school(private_cache: None) -> Expected:
    seed_demo(students=DEMO_STUDENTS, seed=42)
    call_command("refresh_views", verbosity=0)
    User.objects.create_superuser("dashboard-admin", "admin@example.org", PASSWORD)
    return _expected(timezone.localdate())


def _counted_marks(page: Any) -> dict[str, int]:
    return page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('figure.gc-figure')]"
        ".map(f => [f.id, f.querySelectorAll('[data-mark]').length]))"
    )


def _note_error(message: Any, errors: list[str]) -> None:
    # The browser's own favicon request on the admin's login page (which sets no icon; the
    # dashboard pages do) is the browser's, not the page's: every other error counts.
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        errors.append(f"{message.text} ({message.location.get('url')})")


# Screenshots for the docs: the admin's navigation sidebar folded away (its own toggle,
# remembered in localStorage) and a 1100 px window keep the committed PNGs small.
SCREENSHOT_VIEWPORT: ViewportSize = {"width": 1100, "height": 800}
FOLD_SIDEBAR = "window.localStorage.setItem('django.admin.navSidebarIsOpen', 'false')"


def _save(page: Any, folder: Path | None, name: str) -> None:
    if folder is not None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def test_every_page_draws_its_charts_without_console_errors(live_server: Any, demo_school: Expected) -> None:
    from playwright.sync_api import sync_playwright

    chromium = chromium_path()
    expected = demo_school
    assert all(count > 0 for page in expected.marks.values() for count in page.values()), expected.marks
    folder = screenshots_dir()
    errors: list[str] = []
    seen: dict[str, dict[str, int]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport=SCREENSHOT_VIEWPORT, color_scheme="light")
            if folder is not None:
                context.add_init_script(FOLD_SIDEBAR)
            page = context.new_page()
            page.on("console", lambda message: _note_error(message, errors))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{live_server.url}{expected.pages['school']}")
            assert "/admin/login/" in page.url  # anonymous: the admin's login page first
            page.fill("#id_username", "dashboard-admin")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"**{expected.pages['school']}")
            for name, path in expected.pages.items():
                page.goto(f"{live_server.url}{path}")
                assert page.locator("#content h1").count() == 1, name
                seen[name] = _counted_marks(page)
                _save(page, folder, name)
            page.goto(f"{live_server.url}{expected.pages['school']}")
            page.click("#gc-refresh")
            page.wait_for_selector(".messagelist .success")
            refreshed = page.locator(".messagelist .success").inner_text()
            if folder is not None:
                dark = browser.new_context(
                    viewport=SCREENSHOT_VIEWPORT, color_scheme="dark", storage_state=context.storage_state()
                )
                dark.add_init_script(FOLD_SIDEBAR)
                dark_page = dark.new_page()
                for name in ("school", "course"):
                    dark_page.goto(f"{live_server.url}{expected.pages[name]}")
                    _save(dark_page, folder, f"{name}-dark")
        finally:
            browser.close()
    assert seen == expected.marks
    assert "student_metrics_mv" in refreshed
    assert errors == []
