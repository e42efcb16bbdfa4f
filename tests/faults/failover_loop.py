"""The read and write loop the failover tests run while a Redis node is killed under them.

Each thread reads its own students (one at a time and as a batch) and now and
then changes one through the ORM (invalidated on commit), checking every
answer against what it wrote; the conductor moves the phase on.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from growthcompass.cache import CacheStore
from students.models import Student
from students.selectors import student_get, students_by_ids

READS_PER_PHASE = 150  # per phase, over all threads, before the conductor moves on
WRITE_EVERY = 7  # a write (then a read of it) every this many iterations


@dataclass
class Loop:
    """What the threads share: the current phase and what they saw in each."""

    phase: str = "before"
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reads: Counter[str] = field(default_factory=Counter)
    writes: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)

    def count(self, counter: Counter[str], phase_before: str) -> None:
        with self.lock:
            if self.phase == phase_before:
                counter[phase_before] += 1

    def total_reads(self, phase: str) -> int:
        with self.lock:
            return self.reads[phase]


def read_and_write_own_students(loop: Loop, students: list[Student]) -> None:
    """Until ``loop.stop``: read ``students`` and change one every ``WRITE_EVERY`` turns; record wrong answers."""
    truth = {student.pk: student.grade_level for student in students}
    iteration = 0
    while not loop.stop.is_set():
        iteration += 1
        student = students[iteration % len(students)]
        phase = loop.phase
        if iteration % WRITE_EVERY == 0:
            student.grade_level = (student.grade_level + 1) % 13
            student.save(update_fields=["grade_level"])
            truth[student.pk] = student.grade_level
            loop.count(loop.writes, phase)
        if iteration % 5 == 0:
            seen = {pk: summary.grade_level for pk, summary in students_by_ids(list(truth)).items()}
            if seen != truth:
                loop.wrong.append(f"batch in phase {phase}: {seen} != {truth}")
        else:
            summary = student_get(student.pk)
            if summary is None or summary.grade_level != truth[student.pk]:
                loop.wrong.append(f"student {student.pk} in phase {phase}: {summary} != grade {truth[student.pk]}")
        loop.count(loop.reads, phase)


def hits(store: CacheStore) -> int:
    return int(store.statistics()["totals"]["hits"])
