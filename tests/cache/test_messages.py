"""Invalidation payloads: parsing what the triggers send, and merging batches."""

from __future__ import annotations

from growthcompass.cache.messages import EVERYTHING, format_message, merge_into, parse_message


def test_a_trigger_payload_parses_into_ids():
    assert parse_message("student:3,1,2") == {"student": frozenset({1, 2, 3})}


def test_a_whole_family_and_everything():
    assert parse_message("course:*") == {"course": None}
    assert parse_message("*") == {EVERYTHING: None}
    assert parse_message("student:1;*") == {EVERYTHING: None}


def test_unknown_families_and_garbage_are_ignored():
    assert parse_message("audit:1;student:x;;nocolon;course:4") == {"course": frozenset({4})}


def test_merging_widens_to_the_whole_family():
    merged = merge_into({"student": frozenset({1})}, {"student": frozenset({2})})
    assert merged == {"student": frozenset({1, 2})}
    assert merge_into(merged, {"student": None}) == {"student": None}
    assert merge_into({"course": frozenset({1})}, {EVERYTHING: None}) == {EVERYTHING: None}


def test_format_and_parse_round_trip():
    message = {"student": frozenset({5, 4}), "course": None}
    assert format_message(message) == "student:4,5;course:*"
    assert parse_message(format_message(message)) == message
