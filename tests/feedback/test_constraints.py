from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from feedback.services import feedback_record
from tests.factories import FeedbackFactory, StudentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "scores",
    [
        {"participation": 6},
        {"participation": 0},
        {"participation": 2.5},
        {"participation": 2.0},
        {"participation": "4"},
        {"charisma": 3},
        [1, 2, 3],
    ],
)
def test_invalid_scores_are_refused_by_the_database(scores: object) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        FeedbackFactory.create(scores=scores)


def test_valid_scores_are_stored() -> None:
    feedback = FeedbackFactory.create(scores={"participation": 1, "progress": 5})
    feedback.refresh_from_db()
    assert feedback.scores == {"participation": 1, "progress": 5}


@pytest.mark.parametrize("sentiment", [Decimal("1.001"), Decimal("-1.5")])
def test_sentiment_outside_minus_one_to_one_is_refused(sentiment: Decimal) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        FeedbackFactory.create(sentiment=sentiment)


def test_feedback_record_gives_a_clear_error_before_the_database_does() -> None:
    with pytest.raises(ValidationError, match="Unknown score dimensions: charisma"):
        feedback_record(student=StudentFactory.create(), raw_text="ok", scores={"charisma": 3})
