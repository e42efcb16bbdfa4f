"""Teacher notes about students, already "parsed" into scores, sentiment and tags.

Notes hang off a lesson the student really sat in (an active, completed, or
not-yet-dropped enrolment) and are written by that course's teacher. Scores
follow a per-student ability that sags for poor attenders, and the sentiment
follows the scores, so dashboards show believable correlations.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from demo import catalogue, feedback_text
from demo.rows import DemoPlan, PlannedFeedback
from demo.streams import weighted
from feedback.scores import SCORE_DIMENSIONS, SCORE_MAX, SCORE_MIN

NOTES_PER_STUDENT_WEIGHTS: dict[int, int] = {1: 25, 2: 35, 3: 25, 4: 15}
ALL_DIMENSIONS_RATE = 0.55


def plan_feedback(plan: DemoPlan) -> None:
    """Append a few notes per student to ``plan.feedback``."""
    rng = plan.stream("feedback")
    # Notes are parsed some hours after the lesson; stopping two days back keeps
    # every ``parsed_at`` in the past whatever the time of day.
    latest_lesson = plan.today - dt.timedelta(days=2)
    held_sessions: dict[int, list[int]] = {}
    for index, session in enumerate(plan.sessions):
        if not session.is_cancelled and session.session_date <= latest_lesson:
            held_sessions.setdefault(session.course, []).append(index)
    enrollments_by_student: dict[int, list[int]] = {}
    for index, enrollment in enumerate(plan.enrollments):
        if enrollment.attends_until is not None:
            enrollments_by_student.setdefault(enrollment.student, []).append(index)

    for student_index, student in enumerate(plan.students):
        name = plan.users[student.user].first_name
        present_rate = plan.attendance_profiles[student_index].present
        ability = min(4.8, max(1.2, rng.gauss(3.5, 0.6) - 2.0 * max(0.0, 0.85 - present_rate)))
        candidates = enrollments_by_student.get(student_index, [])
        for _ in range(weighted(rng, NOTES_PER_STUDENT_WEIGHTS)):
            if not candidates:
                break
            enrollment = plan.enrollments[rng.choice(candidates)]
            attends_until = enrollment.attends_until or dt.date.min
            lessons = [
                index
                for index in held_sessions.get(enrollment.course, [])
                if plan.sessions[index].session_date < attends_until
            ]
            if not lessons:
                continue
            session_index = rng.choice(lessons)
            session = plan.sessions[session_index]
            course = plan.courses[enrollment.course]
            plan.feedback.append(
                _note(
                    rng,
                    student=student_index,
                    name=name,
                    ability=ability,
                    topic=session.topic,
                    subject=course.subject,
                    session=session_index,
                    author=course.teacher,
                    parsed_at=dt.datetime.combine(session.session_date, session.ends_at, tzinfo=plan.tz)
                    + dt.timedelta(minutes=rng.randint(10, 20 * 60)),
                )
            )


def _note(
    rng: random.Random,
    *,
    student: int,
    name: str,
    ability: float,
    topic: str,
    subject: str,
    session: int,
    author: int,
    parsed_at: dt.datetime,
) -> PlannedFeedback:
    if rng.random() < ALL_DIMENSIONS_RATE:
        dimensions = SCORE_DIMENSIONS
    else:
        picked = set(rng.sample(SCORE_DIMENSIONS, rng.randint(2, 4)))
        dimensions = tuple(d for d in SCORE_DIMENSIONS if d in picked)
    scores = {d: min(SCORE_MAX, max(SCORE_MIN, round(rng.gauss(ability, 0.8)))) for d in dimensions}
    mean = sum(scores.values()) / len(scores)

    sentences = [
        rng.choice(feedback_text.SENTENCES[d][feedback_text.score_level(s)]).format(name=name, topic=topic.lower())
        for d, s in scores.items()
    ]
    sentences.append(rng.choice(feedback_text.CLOSINGS[feedback_text.score_level(round(mean))]))

    sentiment = min(1.0, max(-1.0, (mean - 3) / 2 + rng.gauss(0, 0.12)))
    tags = [
        tag for d, s in scores.items() if (tag := feedback_text.TAGS.get((d, feedback_text.score_level(s)))) is not None
    ]
    tags.append(subject)
    return PlannedFeedback(
        student=student,
        session=session,
        author=author,
        raw_text=f"{catalogue.SUBJECT_LABELS[subject]}: " + " ".join(sentences),
        parsed_at=parsed_at,
        scores=scores,
        # Normalise -0.000 so equal notes compare equal.
        sentiment=Decimal(f"{sentiment:.3f}") + 0,
        tags=tuple(dict.fromkeys(tags)),
    )
