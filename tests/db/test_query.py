"""The safe query API: every operator and column type, and every way it refuses input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attendance.models import ClassSession
from courses.models import Course, Enrollment, Term
from feedback.models import ParsedStudentFeedback
from growthcompass.db import Condition, InvalidQuery, UnknownTable, count, find_many, find_one
from growthcompass.db.query import like_pattern_to_regex
from growthcompass.db.tables import exposed_tables
from students.models import Guardian, Student
from tests.factories import AttendanceFactory
from tests.registry_app.models import Widget
from tests.tables import DOMAIN_TABLES, REGISTRY_APP_TABLES

pytestmark = pytest.mark.django_db


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["id"] for row in rows]


def pks(queryset: Any) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True))


# --- every operator ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "lookup"),
    [
        ("=", 7, "grade_level"),
        ("<", 7, "grade_level__lt"),
        ("<=", 7, "grade_level__lte"),
        (">", 7, "grade_level__gt"),
        (">=", 7, "grade_level__gte"),
        ("IN", [3, 12], "grade_level__in"),
    ],
)
def test_integer_comparisons_match_the_orm(school: dict[str, Any], operator: str, value: Any, lookup: str) -> None:
    rows = find_many("students", [Condition("grade_level", operator, value)])
    assert ids(rows) == pks(Student.objects.filter(**{lookup: value}))
    assert rows


def test_not_equal_and_not_in_never_match_null_like_sql(school: dict[str, Any]) -> None:
    left = dt.date(2025, 6, 30)
    assert ids(find_many("students", [("left_on", "!=", left)])) == pks(
        Student.objects.filter(left_on__isnull=False).exclude(left_on=left)
    )
    assert ids(find_many("students", [("left_on", "NOT IN", [left])])) == pks(
        Student.objects.filter(left_on__isnull=False).exclude(left_on__in=[left])
    )
    assert ids(find_many("students", [("grade_level", "NOT IN", [7])])) == pks(Student.objects.exclude(grade_level=7))
    assert ids(find_many("students", [("status", "!=", "active")])) == pks(Student.objects.exclude(status="active"))


def test_is_null_and_is_not_null(school: dict[str, Any]) -> None:
    assert ids(find_many("students", [("left_on", "IS NULL")])) == pks(Student.objects.filter(left_on__isnull=True))
    assert ids(find_many("students", [("left_on", "is not null", None)])) == pks(
        Student.objects.filter(left_on__isnull=False)
    )
    assert ids(find_many("courses", {"teacher_id": None})) == pks(Course.objects.filter(teacher__isnull=True))


def test_like_matches_a_literal_substring_with_wildcards_escaped(school: dict[str, Any]) -> None:
    assert [r["full_name"] for r in find_many("guardians", [("full_name", "LIKE", "50%")])] == ["Ann 50% Off"]
    assert [r["full_name"] for r in find_many("guardians", [("full_name", "LIKE", "b_S")])] == ["Bob_Smith"]
    assert [r["full_name"] for r in find_many("guardians", [("full_name", "LIKE", "\\")])] == ["Zoë \\ Backslash"]
    assert find_many("guardians", [("full_name", "LIKE", "%")]) == [
        r for r in find_many("guardians") if "%" in r["full_name"]
    ]
    assert find_many("guardians", [("full_name", "LIKE", "BOB")]) == []


def test_ilike_is_case_insensitive(school: dict[str, Any]) -> None:
    names = [r["full_name"] for r in find_many("guardians", [("full_name", "ILIKE", "BOB")], order_by="full_name")]
    assert names == ["Bob_Smith", "bob smith"]
    assert ids(find_many("guardians", [("full_name", "ILIKE", "åsa")])) == pks(
        Guardian.objects.filter(full_name__icontains="åsa")
    )


def test_like_with_wildcards_is_a_whole_pattern(school: dict[str, Any]) -> None:
    def names(operator: str, pattern: str) -> list[str]:
        rows = find_many("guardians", [Condition("full_name", operator, pattern, wildcards=True)], order_by="id")
        return [row["full_name"] for row in rows]

    assert names("LIKE", "Bob%") == ["Bob_Smith"]
    assert names("LIKE", "bob_smith") == ["bob smith"]
    assert names("LIKE", "%\\_%") == ["Bob_Smith"]  # an escaped underscore is literal
    assert names("LIKE", "%50\\%%") == ["Ann 50% Off"]
    assert names("LIKE", "Bob") == []  # anchored: a pattern must match the whole value
    assert names("ILIKE", "BOB%SMITH") == ["Bob_Smith", "bob smith"]
    assert names("LIKE", "%\\\\%") == ["Zoë \\ Backslash"]


def test_like_patterns_translate_to_anchored_regular_expressions() -> None:
    assert like_pattern_to_regex("a%b_c") == "^a.*b.c$"
    assert like_pattern_to_regex("%%%") == "^.*$"
    assert like_pattern_to_regex("1.5 (x)") == "^1\\.5\\ \\(x\\)$"
    assert like_pattern_to_regex("\\%\\_") == "^\\%\\_$"


@pytest.mark.parametrize(
    ("table", "column", "operator", "value", "orm"),
    [
        ("students", "enrolled_on", ">=", "2024-09-01", {"enrolled_on__gte": dt.date(2024, 9, 1)}),
        ("students", "left_on", "<", dt.date(2025, 6, 30), {"left_on__lt": dt.date(2025, 6, 30)}),
        ("courses", "is_active", "=", "false", {"is_active": False}),
        ("courses", "is_active", "=", True, {"is_active": True}),
        ("courses", "capacity", ">", "15", {"capacity__gt": 15}),
        ("courses", "code", "IN", ("MATH-7", "NOPE"), {"code__in": ["MATH-7"]}),
        ("class_sessions", "starts_at", ">=", "11:00", {"starts_at__gte": dt.time(11, 0)}),
        ("class_sessions", "starts_at", "=", dt.time(9, 0), {"starts_at": dt.time(9, 0)}),
        ("parsed_student_feedback", "sentiment", ">", "0.125", {"sentiment__gt": Decimal("0.125")}),
        ("parsed_student_feedback", "sentiment", "<=", 0, {"sentiment__lte": 0}),
        ("terms", "name", "=", "Autumn", {"name": "Autumn"}),
    ],
)
def test_values_are_converted_through_the_model_field(
    school: dict[str, Any], table: str, column: str, operator: str, value: Any, orm: dict[str, Any]
) -> None:
    model = exposed_tables()[table].model
    expected = pks(model._base_manager.filter(**orm))
    assert ids(find_many(table, [(column, operator, value)])) == expected
    assert expected, "the fixture should make every case match something"


def test_datetimes_without_an_offset_are_read_in_the_current_time_zone(school: dict[str, Any]) -> None:
    cutoff = timezone.make_aware(dt.datetime(2025, 9, 2, 8, 0))
    rows = find_many("enrollments", [("enrolled_at", ">=", "2025-09-02T08:00:00")])
    assert ids(rows) == pks(Enrollment.objects.filter(enrolled_at__gte=cutoff))
    with_offset = find_many("enrollments", [("enrolled_at", ">=", "2025-09-02T09:00:00+01:00")])
    assert ids(with_offset) == ids(rows)


def test_foreign_key_columns_filter_by_the_related_key(school: dict[str, Any]) -> None:
    course = school["courses"][0]
    assert ids(find_many("enrollments", {"course_id": str(course.pk)})) == pks(Enrollment.objects.filter(course=course))
    student = school["students"][1]
    assert ids(find_many("parsed_student_feedback", [("student_id", "=", student.pk)])) == pks(
        ParsedStudentFeedback.objects.filter(student=student)
    )


def test_conditions_are_combined_with_and(school: dict[str, Any]) -> None:
    rows = find_many(
        "students",
        [
            {"column": "grade_level", "operator": ">=", "value": 7},
            {"column": "status", "operator": "IN", "value": ["active", "inactive"]},
        ],
    )
    assert ids(rows) == pks(Student.objects.filter(grade_level__gte=7, status__in=["active", "inactive"]))
    assert len(rows) == 2


# --- rows, ordering, paging, find_one, count ----------------------------------------------------


def test_rows_hold_exactly_the_readable_columns(school: dict[str, Any]) -> None:
    # The school has no attendance and no widget: give every exposed table a row, so none passes empty.
    AttendanceFactory.create(student=school["students"][1], session=ClassSession.objects.first())
    Widget.objects.create(name="w", secret="never exposed")
    for name, table in exposed_tables().items():
        rows = find_many(name, limit=1)
        assert rows, f"{name}: no row to check"
        assert list(rows[0]) == list(table.columns)
    student = find_one("students", {"id": school["students"][0].pk})
    assert student is not None
    assert student["grade_level"] == 3 and student["left_on"] is None


def test_ordering_by_a_column_either_way_with_the_key_breaking_ties(school: dict[str, Any]) -> None:
    ascending = find_many("students", order_by="grade_level", order_direction="asc")
    assert ids(ascending) == list(Student.objects.order_by("grade_level", "pk").values_list("pk", flat=True))
    descending = find_many("students", order_by="grade_level", order_direction="DESC")
    assert ids(descending) == list(Student.objects.order_by("-grade_level", "-pk").values_list("pk", flat=True))


def test_limit_and_offset_page_through_the_rows(school: dict[str, Any]) -> None:
    everything = ids(find_many("students", order_by="student_number"))
    pages = [ids(find_many("students", order_by="student_number", limit=2, offset=n)) for n in (0, 2, 4)]
    assert pages[0] + pages[1] + pages[2] == everything
    assert ids(find_many("students", order_by="student_number", limit="2", offset="2")) == pages[1]


def test_the_default_and_maximum_limits_come_from_settings(school: dict[str, Any], settings: Any) -> None:
    settings.SAFE_QUERY_DEFAULT_LIMIT = 2
    settings.SAFE_QUERY_MAX_LIMIT = 3
    assert len(find_many("students")) == 2
    assert len(find_many("students", limit=3)) == 3
    with pytest.raises(InvalidQuery, match="limit must be an integer from 1 to 3; got 4"):
        find_many("students", limit=4)


def test_find_one_returns_the_first_match_or_none(school: dict[str, Any]) -> None:
    first_grade_seven = find_one("students", {"grade_level": 7})
    assert first_grade_seven is not None
    assert first_grade_seven["id"] == min(pks(Student.objects.filter(grade_level=7)))
    assert find_one("students", {"grade_level": 1}) is None


def test_count_counts_the_matches(school: dict[str, Any]) -> None:
    assert count("students") == 5
    assert count("students", [("grade_level", ">=", 7)]) == Student.objects.filter(grade_level__gte=7).count()
    assert count("attendances") == 0


def test_the_replica_flag_reads_the_same_rows_without_a_replica(school: dict[str, Any]) -> None:
    assert find_many("students", use_replica=True) == find_many("students")
    assert count("students", use_replica=True) == 5


# --- the whitelist -------------------------------------------------------------------------------


def test_exposed_tables_are_the_models_tables_and_exclude_auth() -> None:
    tables = exposed_tables()
    assert set(tables) == DOMAIN_TABLES | REGISTRY_APP_TABLES
    for name, table in tables.items():
        assert table.model._meta.db_table == name
        for column in table.columns:
            assert not any(secret in column for secret in ("password", "secret", "token", "hash"))


# --- every rejection -----------------------------------------------------------------------------

REJECTIONS: list[tuple[str, dict[str, Any], str, str]] = [
    # (description, find_many kwargs, part, message fragment)
    ("unknown table", {"table": "auth_user"}, "table", "unknown table 'auth_user'"),
    ("table with SQL", {"table": "students; DROP TABLE students"}, "table", "unknown table"),
    ("table not a string", {"table": ["students"]}, "table", "unknown table ['students']"),
    ("unknown column", {"conditions": [("password", "=", "x")]}, "column", "unknown column 'password'"),
    ("quoted column", {"conditions": [('id" OR 1=1 --', "=", 1)]}, "column", "unknown column"),
    ("ORM path as column", {"conditions": [("user__password", "=", "x")]}, "column", "unknown column"),
    (
        "structured column",
        {"table": "parsed_student_feedback", "conditions": [("scores", "=", "{}")]},
        "column",
        "cannot be filtered or sorted",
    ),
    ("unknown operator", {"conditions": [("id", "==", 1)]}, "operator", "unknown operator '=='"),
    ("SQL as operator", {"conditions": [("id", "= 1 OR 1 =", 1)]}, "operator", "unknown operator"),
    ("look-alike operator", {"conditions": [("id", "\u0131n", [1])]}, "operator", "unknown operator"),  # dotless i
    ("operator not a string", {"conditions": [("id", None, 1)]}, "operator", "unknown operator None"),
    ("list for a scalar", {"conditions": [("id", "=", [1, 2])]}, "value", "expected a single value"),
    ("null comparison", {"conditions": [("id", "=", None)]}, "value", "use IS NULL"),
    ("text for an integer", {"conditions": [("grade_level", ">", "seven")]}, "value", "value must be an integer"),
    ("fraction for an integer", {"conditions": [("grade_level", "=", 7.5)]}, "value", "expected an integer"),
    ("boolean for an integer", {"conditions": [("grade_level", "=", True)]}, "value", "a boolean is not"),
    ("integer out of range", {"conditions": [("grade_level", "<", 10**6)]}, "value", "out of range"),
    ("id out of range", {"conditions": [("id", "=", 2**63)]}, "value", "out of range"),
    ("impossible date", {"conditions": [("enrolled_on", "=", "2025-02-30")]}, "value", "invalid date"),
    ("garbage date", {"conditions": [("enrolled_on", ">", "yesterday")]}, "value", "YYYY-MM-DD"),
    (
        "garbage boolean",
        {"table": "courses", "conditions": [("is_active", "=", "maybe")]},
        "value",
        "expected a boolean",
    ),
    ("garbage time", {"table": "class_sessions", "conditions": [("starts_at", "=", "25:00")]}, "value", "not valid"),
    (
        "too precise decimal",
        {"table": "parsed_student_feedback", "conditions": [("sentiment", "<", "0.1234")]},
        "value",
        "decimal places",
    ),
    (
        "huge decimal",
        {"table": "parsed_student_feedback", "conditions": [("sentiment", "<", "1e400")]},
        "value",
        "digits",
    ),
    (
        "not-a-number decimal",
        {"table": "parsed_student_feedback", "conditions": [("sentiment", "<", "NaN")]},
        "value",
        "not valid",
    ),
    (
        "garbage datetime",
        {"table": "enrollments", "conditions": [("enrolled_at", ">", "2025-13-01T00:00")]},
        "value",
        "not valid",
    ),
    ("NUL character", {"conditions": [("status", "=", "active\x00")]}, "value", "NUL character"),
    ("lone surrogate", {"conditions": [("status", "=", "\ud800")]}, "value", "unpaired surrogate"),
    ("very long text", {"conditions": [("status", "=", "x" * 1001)]}, "value", "longer than 1000"),
    ("bytes value", {"conditions": [("status", "=", b"active")]}, "value", "expected a single value"),
    ("IN with a string", {"conditions": [("id", "IN", "1,2")]}, "value", "needs a list of values"),
    ("IN with a bad item", {"conditions": [("id", "IN", [1, "two"])]}, "value", "value must be an integer"),
    ("IN too long", {"conditions": [("id", "IN", list(range(1001)))]}, "value", "at most 1000 values"),
    ("IS NULL with a value", {"conditions": [("left_on", "IS NULL", "2025-01-01")]}, "value", "takes no value"),
    ("LIKE on a number", {"conditions": [("grade_level", "LIKE", "7")]}, "operator", "text columns only"),
    ("LIKE without text", {"conditions": [("status", "LIKE", 7)]}, "value", "LIKE needs a text value"),
    (
        "pattern ending in escape",
        {"conditions": [Condition("status", "LIKE", "act\\", wildcards=True)]},
        "value",
        "must not end with an escape character",
    ),
    (
        "wildcards not a boolean",
        {"conditions": [{"column": "status", "operator": "LIKE", "value": "a", "wildcards": "yes"}]},
        "condition",
        "wildcards must be true or false",
    ),
    ("condition not a tuple", {"conditions": ["id = 1"]}, "condition", "condition #1 must be"),
    ("conditions as a string", {"conditions": "id = 1"}, "condition", "conditions must be a list"),
    (
        "condition with extra keys",
        {"conditions": [{"column": "id", "value": 1, "sql": "1=1"}]},
        "condition",
        "condition #1 must have 'column'",
    ),
    ("too many conditions", {"conditions": [("id", ">", 0)] * 21}, "condition", "at most 20 conditions"),
    ("unknown order column", {"order_by": "password"}, "order_by", "unknown column 'password'"),
    ("SQL as order", {"order_by": "id; DROP TABLE students"}, "order_by", "unknown column"),
    (
        "order by structured",
        {"table": "parsed_student_feedback", "order_by": "tags"},
        "order_by",
        "cannot be filtered or sorted",
    ),
    ("order not a string", {"order_by": 1}, "order_by", "order_by must be a column name"),
    ("bad direction", {"order_direction": "DESC; DROP TABLE students"}, "order_direction", "ASC or DESC"),
    ("direction not a string", {"order_direction": None}, "order_direction", "ASC or DESC"),
    ("zero limit", {"limit": 0}, "limit", "limit must be an integer from 1 to 1000; got 0"),
    ("huge limit", {"limit": 10**6}, "limit", "from 1 to 1000"),
    ("boolean limit", {"limit": True}, "limit", "got True"),
    ("text limit", {"limit": "10 OR 1=1"}, "limit", "got '10 OR 1=1'"),
    ("negative offset", {"offset": -1}, "offset", "offset must be an integer from 0 to 100000"),
    ("huge offset", {"offset": "99999999999"}, "offset", "offset must be an integer"),
    ("replica flag not a boolean", {"use_replica": "yes"}, "condition", "use_replica must be True or False"),
]


@pytest.mark.parametrize(
    ("kwargs", "part", "fragment"),
    [pytest.param(kwargs, part, fragment, id=description) for description, kwargs, part, fragment in REJECTIONS],
)
def test_invalid_input_is_refused_before_any_sql_runs(kwargs: dict[str, Any], part: str, fragment: str) -> None:
    arguments = {"table": "students", **kwargs}
    table = arguments.pop("table")
    with CaptureQueriesContext(connection) as queries, pytest.raises(InvalidQuery) as excinfo:
        find_many(table, **arguments)
    assert excinfo.value.part == part
    assert fragment in str(excinfo.value)
    assert isinstance(excinfo.value, ValueError)
    assert len(queries) == 0, "refused input must never reach PostgreSQL"


def test_an_unknown_table_is_its_own_kind_of_invalid_query() -> None:
    with pytest.raises(UnknownTable, match="tables: students, guardians"):
        count("pg_catalog.pg_authid")
    with pytest.raises(UnknownTable):
        find_one("auth_user", {"id": 1})


def test_find_one_and_count_refuse_like_find_many() -> None:
    with pytest.raises(InvalidQuery, match="unknown column 'secret'") as excinfo:
        find_one("students", {"secret": 1})
    assert excinfo.value.part == "column"
    with pytest.raises(InvalidQuery, match="unknown operator 'LIKE ANY'"):
        count("students", [("status", "LIKE ANY", "a")])


def test_values_that_match_nothing_are_not_errors(school: dict[str, Any]) -> None:
    assert find_many("students", [("status", "=", "' OR '1'='1")]) == []
    assert find_many("students", [("student_number", "IN", [])]) == []
    assert ids(find_many("students", [("student_number", "NOT IN", [])])) == pks(Student.objects.all())
    assert find_many("terms", [("name", "LIKE", "'; DROP TABLE terms; --")]) == []
    assert Term.objects.count() == 1
    assert ClassSession.objects.count() == 3
