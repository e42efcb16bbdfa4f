"""The dashboard pages through the whole admin stack: what they show, who may see them, what they refuse."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.dashboards.dashboard_school import SmallSchool, build_small_school
from tests.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

SCHOOL = reverse("admin:dashboards_school")
OPERATIONS = reverse("admin:dashboards_operations")
REFRESH = reverse("admin:dashboards_refresh")


@pytest.fixture
def school(private_cache: None) -> SmallSchool:
    return build_small_school()


def _marks(html: str, figure: str) -> int:
    found = re.search(rf'<figure class="gc-figure" id="{figure}" data-marks="(\d+)">(.*?)</figure>', html, re.S)
    assert found is not None, f"no figure {figure}"
    drawn = found.group(2).count("data-mark=")
    assert drawn == int(found.group(1))
    return drawn


def _page(client: Client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_school_overview_charts_and_lists_the_known_school(staff_client: Client, school: SmallSchool) -> None:
    html = _page(staff_client, SCHOOL)
    # Grade 7: two students under 70 %, one at 100 % -> two bands drawn.
    assert _marks(html, "grades") == 2
    # Two past weeks with records; the current week has none (the cancelled session does not count).
    assert _marks(html, "weekly") == 2
    lowest = html.split('id="lowest"')[1].split("</section>")[0]
    assert "2 active students under 80%" in lowest
    assert lowest.index("33.33%") < lowest.index("66.67%")  # lowest first
    assert reverse("admin:dashboards_student", args=[school.absent.pk]) in lowest
    falling = html.split('id="falling"')[1].split("</section>")[0]
    # The latest three (3, 3, 2) average 2.67 against 5.00 for the two before them.
    assert "1 active student" in falling and "<td>5.00</td><td>2.67</td><td>-2.33</td>" in falling


def test_grade_filter_narrows_every_part(staff_client: Client, school: SmallSchool) -> None:
    html = _page(staff_client, SCHOOL, grade="8")
    assert 'id="grades"' in html and "No active students." in html
    assert "0 active students under 80%" in html


def test_student_page_shows_weeks_feedback_enrolments_guardians_and_audit_link(
    staff_client: Client, school: SmallSchool
) -> None:
    html = _page(staff_client, reverse("admin:dashboards_student", args=[school.steady.pk]))
    assert _marks(html, "attendance") == 2
    assert _marks(html, "feedback") == 10  # five entries, two dimensions each
    assert "DASH-7A" in html and reverse("admin:dashboards_course", args=[school.course.pk]) in html
    assert "Guardians (0)" in html
    assert f"table_name=students&amp;row_pk={school.steady.pk}" in html


def test_course_page_grids_every_student_and_held_session(staff_client: Client, school: SmallSchool) -> None:
    html = _page(staff_client, reverse("admin:dashboards_course", args=[school.course.pk]))
    assert _marks(html, "grid") == 9  # 3 students x 3 held past sessions
    roster = html.split('id="roster"')[1]
    assert "33.3%" in roster and "100.0%" in roster


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"grade": "13"}, "grade must be from 0 (Kindergarten) to 12, not 13"),
        ({"grade": "seven"}, "grade must be a whole number from 0 to 12, not &#x27;seven&#x27;"),
        ({"term": "999999"}, "there is no term with id 999999"),
        ({"term": "x"}, "term must be a term&#x27;s id"),
        ({"course": "NOPE"}, "there is no course with the code &#x27;NOPE&#x27;"),
    ],
)
def test_a_bad_filter_is_a_400_with_a_message(
    staff_client: Client, school: SmallSchool, params: dict[str, str], message: str
) -> None:
    response = staff_client.get(SCHOOL, params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_a_course_code_opens_the_course_page(staff_client: Client, school: SmallSchool) -> None:
    response = staff_client.get(SCHOOL, {"course": "DASH-7A"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:dashboards_course", args=[school.course.pk])


def test_unknown_student_or_course_is_404(staff_client: Client, school: SmallSchool) -> None:
    assert staff_client.get(reverse("admin:dashboards_student", args=[10**9])).status_code == 404
    assert staff_client.get(reverse("admin:dashboards_course", args=[10**9])).status_code == 404


@pytest.mark.parametrize("name", ["school", "operations"])
def test_anonymous_users_get_the_login_page(client: Client, school: SmallSchool, name: str) -> None:
    url = reverse(f"admin:dashboards_{name}")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login")) and "next=" in response["Location"]


def _staff_with(*codenames: str) -> Client:
    user: User = StaffUserFactory.create(is_superuser=False)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="dashboards", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_the_metrics_view_permission(school: SmallSchool) -> None:
    client = _staff_with()
    assert client.get(SCHOOL).status_code == 403
    assert _staff_with("view_studentmetrics").get(SCHOOL).status_code == 200


def test_operations_and_refresh_need_their_own_permissions(school: SmallSchool) -> None:
    reader = _staff_with("view_studentmetrics")
    html = _page(reader, SCHOOL)
    assert 'id="gc-refresh"' not in html and OPERATIONS not in html
    assert reader.get(OPERATIONS).status_code == 403
    assert reader.post(REFRESH).status_code == 403
    admin = _staff_with("view_studentmetrics", "refresh_views", "view_operations")
    html = _page(admin, SCHOOL)
    assert 'id="gc-refresh"' in html and OPERATIONS in html
    operations = _page(admin, OPERATIONS)
    for section in ("health", "cache", "pools", "statements", "refreshes"):
        assert f'id="{section}"' in operations
    assert "materialized_views" in operations and "feedback_trend_mv" in operations


def test_a_non_staff_user_never_reaches_a_page(school: SmallSchool) -> None:
    client = Client()
    client.force_login(UserFactory.create())
    response = client.get(SCHOOL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_the_student_change_page_links_to_the_dashboard(staff_client: Client, school: SmallSchool) -> None:
    html = _page(staff_client, reverse("admin:students_student_change", args=[school.steady.pk]))
    assert reverse("admin:dashboards_student", args=[school.steady.pk]) in html
    assert 'class="auditlink"' in html  # the audit app's link on the same page is kept


def test_page_queries_do_not_grow_with_the_school(staff_client: Client, school: SmallSchool) -> None:
    urls = [
        SCHOOL,
        reverse("admin:dashboards_student", args=[school.steady.pk]),
        reverse("admin:dashboards_course", args=[school.course.pk]),
    ]

    def counts() -> list[int]:
        found = []
        for url in urls:
            staff_client.get(url)  # warm the cache: the second read is the steady state
            with CaptureQueriesContext(connection) as captured:
                assert staff_client.get(url).status_code == 200
            found.append(len(captured.captured_queries))
        return found

    before = counts()
    bigger = build_small_school("DASH-7B")  # a second course, term and three more students
    assert bigger.course.pk != school.course.pk
    assert counts() == before
