"""``GET /api/<table>/``: staff-only, read-only JSON over the safe query API."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.db.utils import OperationalError
from django.test import Client

from growthcompass.api import views
from growthcompass.db.exceptions import QueryTimeout
from students.models import Guardian, Student
from tests.factories import GuardianFactory, StudentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def students() -> list[Student]:
    made = [
        StudentFactory.create(grade_level=grade, status=status, left_on=left_on)
        for grade, status, left_on in [
            (5, "active", None),
            (7, "active", None),
            (9, "inactive", dt.date(2025, 6, 30)),
            (11, "graduated", dt.date(2025, 7, 1)),
        ]
    ]
    for student, name in zip(made, ["Ann O'Neil", "Bob 100% Smith", "Cy_Young", "Di Drop"], strict=True):
        GuardianFactory.create(student=student, full_name=name)
    return made


def get(client: Client, path: str, **params: Any) -> Any:
    query = urlencode(params, doseq=True)
    return client.get(f"{path}?{query}" if query else path)


def ids(response: Any) -> list[int]:
    return [row["id"] for row in response.json()["rows"]]


# --- access ----------------------------------------------------------------------------------------


def test_anonymous_callers_are_refused(client: Client) -> None:
    response = client.get("/api/students/")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication required: log in as a staff member", "part": "auth"}


def test_non_staff_users_are_refused(client: Client) -> None:
    client.force_login(UserFactory.create(is_staff=False))
    response = client.get("/api/students/")
    assert response.status_code == 403
    assert response.json()["error"] == "staff status required"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_endpoint_is_read_only(staff_client: Client, students: list[Student], method: str) -> None:
    response = getattr(staff_client, method)("/api/students/")
    assert response.status_code == 405
    assert Student.objects.count() == len(students)


# --- answers ---------------------------------------------------------------------------------------


def test_staff_get_rows_as_json(staff_client: Client, students: list[Student]) -> None:
    response = staff_client.get("/api/students/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["table"] == "students" and body["limit"] == 100 and body["offset"] == 0
    assert body["returned"] == len(students) and body["total"] == len(students)
    first = body["rows"][0]
    assert list(first) == ["id", "student_number", "grade_level", "status", "enrolled_on", "left_on", "leaving_reason"]
    assert first["enrolled_on"] == "2024-09-01"


def test_filters_order_and_paging(staff_client: Client, students: list[Student]) -> None:
    response = get(staff_client, "/api/students/", grade_level__gte=7, order="grade_level", dir="desc")
    assert ids(response) == [s.pk for s in sorted(students[1:], key=lambda s: -s.grade_level)]
    response = get(staff_client, "/api/students/", status__in="active,inactive", order="grade_level", limit=1, offset=1)
    assert ids(response) == [students[1].pk]
    assert response.json()["limit"] == 1 and response.json()["offset"] == 1
    assert ids(get(staff_client, "/api/students/", status="graduated")) == [students[3].pk]
    assert ids(get(staff_client, "/api/students/", left_on__is_null="")) == [students[0].pk, students[1].pk]
    assert ids(get(staff_client, "/api/students/", left_on__is_not_null="true")) == [students[2].pk, students[3].pk]
    assert ids(get(staff_client, "/api/students/", status__ne="active", grade_level__lt=11)) == [students[2].pk]
    assert ids(get(staff_client, "/api/students/", grade_level__not_in=["5", "7"])) == [students[2].pk, students[3].pk]


def test_like_filters_escape_wildcards_unless_asked(staff_client: Client, students: list[Student]) -> None:
    names = lambda response: [row["full_name"] for row in response.json()["rows"]]  # noqa: E731
    assert names(get(staff_client, "/api/guardians/", full_name__like="100%")) == ["Bob 100% Smith"]
    assert names(get(staff_client, "/api/guardians/", full_name__like="_")) == ["Cy_Young"]
    assert names(get(staff_client, "/api/guardians/", full_name__ilike="o'neil")) == ["Ann O'Neil"]
    assert names(get(staff_client, "/api/guardians/", full_name__like_pattern="D_ %")) == ["Di Drop"]
    assert names(get(staff_client, "/api/guardians/", full_name__ilike_pattern="%smith")) == ["Bob 100% Smith"]


def test_the_index_lists_tables_columns_and_operators(staff_client: Client) -> None:
    body = staff_client.get("/api/").json()
    assert "students" in body["tables"] and "auth_user" not in body["tables"]
    feedback = body["tables"]["parsed_student_feedback"]
    assert "scores" in feedback["columns"] and "scores" not in feedback["filterable"]
    assert "like_pattern" in body["operators"]


# --- refusals -----------------------------------------------------------------------------------------


def test_an_unknown_table_is_404(staff_client: Client) -> None:
    response = staff_client.get("/api/auth_user/")
    assert response.status_code == 404
    assert "unknown table 'auth_user'" in response.json()["error"]


@pytest.mark.parametrize(
    ("params", "part", "fragment"),
    [
        ({"password": "x"}, "column", "unknown column 'password'"),
        ({"grade_level__regex": "7"}, "operator", "unknown operator 'regex'"),
        ({"grade_level": "seven"}, "value", "value must be an integer"),
        ({"grade_level__in": "7,eight"}, "value", "value must be an integer"),
        ({"left_on__is_null": "no"}, "value", "is_null takes no value"),
        ({"order": "password"}, "order_by", "unknown column 'password'"),
        ({"dir": "sideways"}, "order_direction", "ASC or DESC"),
        ({"limit": "0"}, "limit", "limit must be an integer from 1 to 1000"),
        ({"limit": "5000"}, "limit", "from 1 to 1000"),
        ({"offset": "-3"}, "offset", "offset must be an integer"),
        ({"limit": ["1", "2"]}, "limit", "parameter 'limit' given more than once"),
    ],
)
def test_invalid_queries_are_400_with_the_message(
    staff_client: Client, students: list[Student], params: dict[str, Any], part: str, fragment: str
) -> None:
    response = get(staff_client, "/api/students/", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["part"] == part
    assert fragment in body["error"]


# --- injection ------------------------------------------------------------------------------------------

PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    '" OR ""="',
    "1 OR 1=1",
    "1; DROP TABLE students; --",
    "'; DELETE FROM students; --",
    "1' UNION SELECT password FROM auth_user --",
    "1) OR (1=1",
    "%' OR '%'='",
    "\\'; SELECT pg_sleep(10); --",
    'students" --',
    "id DESC, (SELECT 1)",
    "$1",
    "%s",
    "%(x)s",
    "{0}",
    "\x00",
    "7\x00' OR 1=1",
    "1e309",
    "*",
]


def _places(payload: str) -> list[tuple[str, dict[str, Any]]]:
    """The payload in every parameter: table, column, operator, value, order, direction, limit, offset."""
    return [
        (f"/api/{payload}/", {}),
        ("/api/students/", {payload: "1"}),
        ("/api/students/", {f"grade_level__{payload}": "1"}),
        ("/api/students/", {"grade_level": payload}),
        ("/api/students/", {"status": payload}),
        ("/api/students/", {"status__in": payload}),
        ("/api/students/", {"left_on__is_null": payload}),
        ("/api/guardians/", {"full_name__like": payload}),
        ("/api/guardians/", {"full_name__ilike_pattern": payload}),
        ("/api/students/", {"order": payload}),
        ("/api/students/", {"dir": payload}),
        ("/api/students/", {"limit": payload}),
        ("/api/students/", {"offset": payload}),
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payloads_in_every_parameter_return_400_or_no_extra_rows(
    staff_client: Client, students: list[Student], payload: str
) -> None:
    passwords = list(User.objects.values_list("password", flat=True))
    all_students = {s.pk for s in students}
    all_guardians = set(Guardian.objects.values_list("pk", flat=True))
    for path, params in _places(payload):
        response = staff_client.get(path, params)
        assert response.status_code in (200, 400, 404), (path, params, response.status_code)
        content = response.content.decode()
        assert not any(password in content for password in passwords)
        if response.status_code == 200:
            rows = set(ids(response))
            everything = all_guardians if "guardians" in path else all_students
            assert rows <= everything
            # No payload is a value any row holds: a filter carrying one matches nothing.
            assert not (params and rows), (path, params, rows)
        else:
            assert "error" in response.json()
    assert Student.objects.count() == len(students)
    assert Guardian.objects.count() == len(all_guardians)


@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (QueryTimeout("query cancelled by PostgreSQL (canceling statement due to statement timeout)"), "cancelled"),
        (OperationalError("server closed the connection unexpectedly"), "the database is unavailable"),
    ],
)
def test_a_cancelled_query_or_an_unreachable_database_is_503(
    staff_client: Client, monkeypatch: pytest.MonkeyPatch, error: Exception, fragment: str
) -> None:
    def failing_find_many(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(views, "find_many", failing_find_many)
    response = staff_client.get("/api/students/")
    assert response.status_code == 503
    assert fragment in response.json()["error"]


def test_total_counts_every_match_and_returned_the_page(staff_client: Client, students: list[Student]) -> None:
    assert len(students) >= 3
    body = get(staff_client, "/api/students/", limit=1).json()
    assert body["returned"] == 1 and len(body["rows"]) == 1
    assert body["total"] == len(students)
