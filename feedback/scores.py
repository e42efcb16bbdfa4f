"""The fixed dimensions a teacher's feedback is scored on, 1 to 5 each.

The same rule is enforced twice on purpose: by ``validate_scores`` for a clear
form error, and by the ``feedback_scores_are_valid`` SQL function (created in
the initial migration) behind a check constraint, so bulk loads and raw SQL
cannot store an out-of-range score either.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

SCORE_DIMENSIONS: tuple[str, ...] = ("participation", "comprehension", "homework", "behaviour", "progress")
SCORE_MIN = 1
SCORE_MAX = 5

def validate_scores(value: Any) -> None:
    """Raise ``ValidationError`` unless ``value`` maps known dimensions to integers 1..5."""
    if not isinstance(value, dict):
        raise ValidationError("Scores must be an object mapping dimensions to 1-5.")
    unknown = sorted(set(value) - set(SCORE_DIMENSIONS))
    if unknown:
        raise ValidationError(
            f"Unknown score dimensions: {', '.join(unknown)}; expected {', '.join(SCORE_DIMENSIONS)}."
        )
    for key, score in value.items():
        if isinstance(score, bool) or not isinstance(score, int) or not SCORE_MIN <= score <= SCORE_MAX:
            raise ValidationError(
                f"Score for {key} must be a whole number from {SCORE_MIN} to {SCORE_MAX}; got {score!r}."
            )
