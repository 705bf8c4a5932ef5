"""Grading: compare a student's answers with the answer key. Submitted text is never run.

Okpy's "What Would Python Display?" questions ask what an expression prints; the
student types the output and the autograder compares strings. Here the worker
does the same, slowly on purpose (GRADE_SECONDS), so that adding workers visibly
speeds the queue up.
"""
import json
import logging
import time

from rq import get_current_job

from . import settings

log = logging.getLogger("okpy_mini.grading")

# assignment -> question -> (prompt shown to students, expected output).
ANSWER_KEY = {
    "hw01": {
        "q1": (">>> 2 + 3 * 4", "14"),
        "q2": ('>>> len("okpy")', "4"),
        "q3": (">>> [x * x for x in range(4)]", "[0, 1, 4, 9]"),
        "q4": (">>> print(None)", "None"),
    },
    "lab01": {
        "q1": (">>> 7 // 2", "3"),
        "q2": (">>> 7 % 2", "1"),
        "q3": (">>> True and 0", "0"),
    },
}

# Redis keys shared by the web tier (reads) and the worker tier (writes).
SUBMITTED = "okpy:submitted"     # counter
GRADED = "okpy:graded"           # counter
RECENT = "okpy:recent"           # list of the latest results, newest first, JSON
RESULT = "okpy:result:{}"        # one result per submission, JSON
RECENT_KEPT = 10
RESULT_TTL = 24 * 3600


def normalize(text: str) -> str:
    """Ignore leading, trailing and repeated whitespace; nothing else."""
    return " ".join(str(text).split())


def grade(assignment: str, answers: dict) -> dict:
    """Score answers against the key. Pure string comparison: nothing is evaluated."""
    key = ANSWER_KEY[assignment]
    correct = [q for q, (_, expected) in key.items()
               if normalize(answers.get(q, "")) == normalize(expected)]
    wrong = [q for q in key if q not in correct]
    return {"assignment": assignment, "score": len(correct), "total": len(key),
            "correct": correct, "wrong": wrong}


def sample_answers(assignment: str, n: int) -> dict:
    """Answers for the n-th demo submission: mostly right, a different mistake each time."""
    key = ANSWER_KEY[assignment]
    return {q: expected if (n + i) % 3 else "SyntaxError"
            for i, (q, (_, expected)) in enumerate(key.items())}


def grade_submission(submission: dict, connection=None) -> dict:
    """The RQ job: grade one submission and record the result in Redis.

    `submission` is what the web tier enqueued: id, assignment, student, answers.
    Inside a worker the connection is the worker's own; tests may pass one.
    """
    started = time.monotonic()
    if connection is None:
        connection = get_current_job().connection
    time.sleep(settings.grade_seconds())  # stands in for running the real autograder
    result = grade(submission["assignment"], submission["answers"])
    result.update(id=submission["id"], student=submission.get("student", ""),
                  graded_by=settings.pod_name(), seconds=round(time.monotonic() - started, 3))
    record(connection, result)
    log.info("graded submission=%s assignment=%s score=%d/%d pod=%s seconds=%.2f",
             result["id"][:8], result["assignment"], result["score"], result["total"],
             result["graded_by"], result["seconds"])
    return result


def record(connection, result: dict) -> None:
    """Store one result and bump the counters, in one round trip."""
    text = json.dumps(result)
    with connection.pipeline() as pipe:
        pipe.set(RESULT.format(result["id"]), text, ex=RESULT_TTL)
        pipe.lpush(RECENT, text)
        pipe.ltrim(RECENT, 0, RECENT_KEPT - 1)
        pipe.incr(GRADED)
        pipe.execute()
