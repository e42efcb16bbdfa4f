"""The JSON endpoint answers 200 or a JSON 4xx with ``error`` and ``part`` -- never a 5xx, never HTML.

Tables, columns and operators are read from the registries (``exposed_tables``
and ``ENDPOINT_OPERATORS``), so a newly registered table is covered without
editing this file. Query strings mix valid and invalid parameter names,
operators and values (huge, empty, NUL, non-ASCII, wrong types, too many
parameters); methods and bodies are generated too, with CSRF checks enforced
as a browser would meet them.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from growthcompass.api.views import ENDPOINT_OPERATORS, RESERVED_PARAMETERS
from growthcompass.db.tables import exposed_tables
from tests.factories import StaffUserFactory, StudentFactory

pytestmark = pytest.mark.django_db

TABLES = sorted(exposed_tables())
VALUES = st.one_of(
    st.sampled_from(["", "0", "-1", "1", "2.5", "nan", "true", "2025-01-01", "2025-13-45", "%", "_", "a,b", "\x00"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=30),
    st.integers(min_value=1000, max_value=10_000).map(lambda n: "x" * n),
)


@st.composite
def query_strings(draw: st.DrawFn, table: str) -> str:
    columns = [*exposed_tables()[table].columns, "no_such_column", ""]
    operators = [*ENDPOINT_OPERATORS, "no_such_op", ""]

    def parameter() -> st.SearchStrategy[str]:
        filters = st.builds(
            lambda column, op: f"{column}__{op}" if op else column, st.sampled_from(columns), st.sampled_from(operators)
        )
        return st.one_of(filters, st.sampled_from(RESERVED_PARAMETERS), st.text(max_size=10))

    pairs = draw(st.lists(st.tuples(parameter(), VALUES), max_size=8))
    if draw(st.integers(0, 9)) == 0:  # now and then, more parameters than Django accepts
        pairs += [("grade_level", "1")] * (django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)
    return urlencode(pairs)


def assert_json_answer(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"
    assert response["Content-Type"] == "application/json", f"{what}: {response['Content-Type']}"
    if response.status_code != 200:
        assert 400 <= response.status_code < 500, f"{what}: {response.status_code}"
        body = response.json()
        assert isinstance(body.get("error"), str) and body["error"], f"{what}: {body}"
        assert isinstance(body.get("part"), str) and body["part"], f"{what}: {body}"


def guard(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture
def csrf_staff_client(db: None) -> Client:
    """A staff session whose POSTs meet the CSRF check, as a browser's would."""
    StudentFactory.create_batch(3)
    client = Client(enforce_csrf_checks=True)
    user: User = StaffUserFactory.create()
    client.force_login(user)
    return client


def check_queries(client: Client, table: str, max_examples: int) -> None:
    @guard(max_examples)
    @given(query=query_strings(table))
    def run(query: str) -> None:
        response = client.get(f"/api/{table}/?{query}")
        assert_json_answer(response, f"GET /api/{table}/?{query[:200]}")

    run()


@pytest.mark.parametrize("table", TABLES)
def test_any_query_string_gets_200_or_a_json_4xx(csrf_staff_client: Client, table: str) -> None:
    assert TABLES, "no table is exposed"
    check_queries(csrf_staff_client, table, max_examples=40)


@pytest.mark.slow
@pytest.mark.parametrize("table", TABLES)
def test_many_more_query_strings_get_200_or_a_json_4xx(csrf_staff_client: Client, table: str) -> None:
    check_queries(csrf_staff_client, table, max_examples=400)


@guard(60)
@given(
    method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]),
    path=st.one_of(st.sampled_from(["/api/", *(f"/api/{t}/" for t in TABLES)]), st.just("/api/no_such_table/")),
    body=st.one_of(st.just(b""), st.binary(max_size=200), st.just(b'{"rows": [1]}')),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
)
def test_any_method_and_body_gets_200_or_a_json_4xx(
    csrf_staff_client: Client, method: str, path: str, body: bytes, content_type: str
) -> None:
    response = csrf_staff_client.generic(method, path, data=body, content_type=content_type)
    what = f"{method} {path}"
    if method == "HEAD":
        assert response.status_code in (200, 404), what
        return
    assert_json_answer(response, what)
    if method != "GET":
        assert response.status_code == 405, what
        assert response.json()["part"] == "method"
        assert "GET" in response["Allow"]


@pytest.mark.parametrize("caller", ["anonymous", "non-staff"])
def test_refused_callers_get_json_with_a_part(client: Client, caller: str, db: None) -> None:
    if caller == "non-staff":
        client.force_login(StaffUserFactory.create(is_staff=False, is_superuser=False))
    response = client.get("/api/students/")
    assert response.status_code in (401, 403)
    assert response.json()["part"] == "auth"


def test_too_many_parameters_get_a_json_400(csrf_staff_client: Client) -> None:
    query = urlencode([("grade_level", "1")] * (django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = csrf_staff_client.get(f"/api/students/?{query}")
    assert response.status_code == 400
    assert response.json()["part"] == "query"


def test_a_csrf_less_post_gets_a_json_405(csrf_staff_client: Client) -> None:
    response = csrf_staff_client.post("/api/students/", {"grade_level": 1})
    assert response.status_code == 405
    assert response.json() == {"error": "method POST not allowed: the API is read-only", "part": "method"}
