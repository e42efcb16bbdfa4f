"""The school's fixed vocabulary: subject codes, lesson topics, timetable slots, reasons.

Everything here is an ordered tuple or a dict built from tuples so the plan
indexes it the same way on every run.
"""

from __future__ import annotations

import datetime as dt

from courses.models import Subject

# Three-letter prefixes for course codes such as ``MAT-07-A-202609``.
SUBJECT_CODES: dict[str, str] = {
    Subject.MATHEMATICS: "MAT",
    Subject.ENGLISH: "ENG",
    Subject.SCIENCE: "SCI",
    Subject.HISTORY: "HIS",
    Subject.GEOGRAPHY: "GEO",
    Subject.LANGUAGES: "LAN",
    Subject.ARTS: "ART",
    Subject.COMPUTING: "CMP",
}

SUBJECTS: tuple[str, ...] = tuple(Subject.values)
SUBJECT_LABELS: dict[str, str] = {value: str(label) for value, label in Subject.choices}

# Topics cycle through a term; a lesson's topic is chosen by its position in the term.
# fmt: off
TOPICS: dict[str, tuple[str, ...]] = {
    Subject.MATHEMATICS: (
        "Number sense", "Place value", "Fractions", "Decimals", "Ratios and rates", "Percentages",
        "Expressions", "Linear equations", "Inequalities", "Geometry: angles", "Area and perimeter",
        "Volume", "Statistics", "Probability", "Review and practice",
    ),
    Subject.ENGLISH: (
        "Reading for meaning", "Vocabulary in context", "Narrative writing", "Poetry", "Grammar: clauses",
        "Persuasive writing", "Novel study", "Character analysis", "Speaking and listening", "Research skills",
        "Drama", "Editing and redrafting", "Non-fiction texts", "Book club", "Review and practice",
    ),
    Subject.SCIENCE: (
        "Scientific method", "Cells", "Forces", "Energy", "Matter and materials", "Ecosystems",
        "The human body", "Electricity", "Light and sound", "Earth and space", "Chemical reactions",
        "Plants", "Weather", "Lab practical", "Review and practice",
    ),
    Subject.HISTORY: (
        "Sources and evidence", "Ancient civilisations", "Timelines", "Trade routes", "Empires",
        "Revolutions", "Migration", "Local history", "Industrial change", "Human rights",
        "Twentieth century", "Cause and consequence", "Museum project", "Debate", "Review and practice",
    ),
    Subject.GEOGRAPHY: (
        "Maps and scale", "Rivers", "Coasts", "Weather and climate", "Population", "Settlements",
        "Natural hazards", "Biomes", "Resources", "Fieldwork", "Urban change", "Global trade",
        "Sustainability", "Case study", "Review and practice",
    ),
    Subject.LANGUAGES: (
        "Greetings", "Numbers and dates", "Family", "School life", "Food and drink", "Hobbies",
        "Travel", "Past tense", "Future plans", "Listening practice", "Conversation", "Culture",
        "Reading comprehension", "Oral presentation", "Review and practice",
    ),
    Subject.ARTS: (
        "Drawing from life", "Colour theory", "Printmaking", "Clay", "Collage", "Perspective",
        "Portraits", "Sculpture", "Art history", "Textiles", "Photography", "Digital art",
        "Group mural", "Portfolio", "Exhibition",
    ),
    Subject.COMPUTING: (
        "Algorithms", "Sequences and loops", "Variables", "Conditionals", "Debugging", "Data and lists",
        "Networks", "Online safety", "Spreadsheets", "Web pages", "Functions", "Sensors and robots",
        "Databases", "Project work", "Review and practice",
    ),
}
# fmt: on

# Five teaching periods; a teacher's n-th course takes the n-th period, so no
# teacher is ever timetabled twice at once.
PERIODS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(8, 30), dt.time(9, 30)),
    (dt.time(9, 45), dt.time(10, 45)),
    (dt.time(11, 0), dt.time(12, 0)),
    (dt.time(13, 0), dt.time(14, 0)),
    (dt.time(14, 15), dt.time(15, 15)),
)
COURSES_PER_TEACHER = len(PERIODS)

# Two lessons a week, on these weekdays (Monday is 0).
WEEKDAY_PATTERNS: tuple[tuple[int, int], ...] = ((0, 2), (1, 3), (2, 4), (0, 3), (1, 4))

DROP_REASONS: tuple[str, ...] = (
    "Timetable clash",
    "Moved to a different section",
    "Family relocation",
    "Course too advanced; moved to support class",
    "Medical leave",
    "Changed subject choice",
)

EXCUSED_NOTES: tuple[str, ...] = (
    "Medical appointment",
    "Illness; note from guardian",
    "Family event",
    "School trip",
    "Religious observance",
    "Representing the school at a sports event",
)
ABSENT_NOTES: tuple[str, ...] = ("", "", "", "No contact from family", "Guardian called after register closed")

CANCELLATION_TOPICS: tuple[str, ...] = (
    "Cancelled: staff training",
    "Cancelled: teacher absent",
    "Cancelled: building maintenance",
    "Cancelled: assembly",
)
