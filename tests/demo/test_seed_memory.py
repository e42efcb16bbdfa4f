"""``seed_demo``'s memory does not grow with the size of the school: it plans and copies a cohort at a time.

Memory, not time: the peak resident set of a ``manage.py seed_demo`` process
(``ru_maxrss`` of the one child of a small runner) at four cohorts is compared
with the peak at one cohort, both measured in the same test. Before the school
was streamed, the plan of every student sat in memory at once (about 9 kB a
student), so four cohorts took about 1.6 times the memory of one.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from demo.rows import COHORT_SIZE
from tests.guards.test_manage_py_refuses_bad_arguments import REPO, command_environment

# Runs argv as its only child and prints that child's peak resident set (kB on Linux) last.
RUNNER = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "sys.exit(code)"
)
SEED = (sys.executable, "manage.py", "seed_demo")
# Generous against allocator noise, well below the 1.6 of an in-memory plan.
MAX_GROWTH = 1.25


def peak_rss_kb(students: int) -> int:
    result = subprocess.run(
        [sys.executable, "-c", RUNNER, *SEED, "--students", str(students), "--reset", "--no-refresh"],
        cwd=REPO,
        env=command_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary, peak = result.stdout.strip().splitlines()[-2:]
    assert f"students={students} " in summary
    return int(peak)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # two seeds of 2,000 and 8,000 students: a hang guard, not a speed limit
@pytest.mark.django_db(transaction=True)  # the command commits in a process of its own
def test_peak_memory_at_four_cohorts_stays_near_the_peak_at_one() -> None:
    one = peak_rss_kb(COHORT_SIZE)
    four = peak_rss_kb(4 * COHORT_SIZE)
    assert four < MAX_GROWTH * one, f"peak RSS {four} kB at {4 * COHORT_SIZE} students, {one} kB at {COHORT_SIZE}"
