"""Sentences and tags a teacher might write, keyed by score dimension and level.

Text is assembled from these fragments so that what a note *says* agrees with
the scores it was "parsed" into: a 1 for homework reads like missing homework.
"""

from __future__ import annotations

# Level of a 1-5 score: 1-2 low, 3 steady, 4-5 high.
LOW, STEADY, HIGH = "low", "steady", "high"


def score_level(score: int) -> str:
    """Bucket a 1-5 score into the three tones the sentences are written in."""
    if score <= 2:
        return LOW
    if score == 3:
        return STEADY
    return HIGH


SENTENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "participation": {
        LOW: (
            "{name} rarely joins class discussions and needs encouragement to speak up.",
            "{name} was quiet again this week and did not volunteer answers.",
        ),
        STEADY: (
            "{name} takes part when asked but seldom volunteers.",
            "{name} contributes to group work when the group is small.",
        ),
        HIGH: (
            "{name} contributes thoughtful ideas and helps others join in.",
            "{name} is always ready with a question and lifts the whole discussion.",
        ),
    },
    "comprehension": {
        LOW: (
            "{name} is struggling with the core ideas of {topic} and needs reteaching.",
            "{name} found {topic} difficult and could not explain the key steps.",
        ),
        STEADY: (
            "{name} understands the basics of {topic} but makes errors under time pressure.",
            "{name} follows {topic} with some support.",
        ),
        HIGH: (
            "{name} has a secure grasp of {topic} and can explain it to classmates.",
            "{name} applied {topic} confidently to unfamiliar problems.",
        ),
    },
    "homework": {
        LOW: (
            "Homework has been missing or incomplete several times.",
            "{name} has not handed in the last two assignments.",
        ),
        STEADY: (
            "Homework is usually handed in, though sometimes rushed.",
            "{name} completes homework but rarely checks it.",
        ),
        HIGH: (
            "Homework is consistently complete, careful and on time.",
            "{name} goes beyond the set homework and reads ahead.",
        ),
    },
    "behaviour": {
        LOW: (
            "{name} was often distracted and distracted others.",
            "We discussed staying on task after repeated interruptions.",
        ),
        STEADY: (
            "{name} is generally settled, with occasional chatter.",
            "Behaviour is fine once the lesson gets going.",
        ),
        HIGH: (
            "{name} is focused, respectful and a positive presence in class.",
            "{name} sets a calm example for the group.",
        ),
    },
    "progress": {
        LOW: (
            "Progress this term has stalled; a support plan would help.",
            "{name} is falling behind the expected level for the grade.",
        ),
        STEADY: (
            "{name} is making steady progress.",
            "Progress is in line with expectations.",
        ),
        HIGH: (
            "{name} has made excellent progress since the start of term.",
            "{name} is working above the expected level.",
        ),
    },
}

CLOSINGS: dict[str, tuple[str, ...]] = {
    LOW: (
        "I would welcome a conversation with home about how to help.",
        "Let's set small weekly goals together.",
    ),
    STEADY: (
        "Keep it up and aim to ask more questions.",
        "A little more practice at home would help.",
    ),
    HIGH: (
        "Well done, keep it up!",
        "A pleasure to teach.",
    ),
}

# (dimension, level) -> tag a parser might have produced; not every pair has one.
TAGS: dict[tuple[str, str], str] = {
    ("participation", LOW): "quiet",
    ("participation", HIGH): "engaged",
    ("comprehension", LOW): "needs-reteaching",
    ("comprehension", HIGH): "secure-understanding",
    ("homework", LOW): "homework-missing",
    ("homework", HIGH): "homework-strong",
    ("behaviour", LOW): "behaviour-concern",
    ("behaviour", HIGH): "role-model",
    ("progress", LOW): "needs-support",
    ("progress", STEADY): "on-track",
    ("progress", HIGH): "excelling",
}
