"""The class's links: one secret for the teacher's page and one per student, each opening only its own
page and terminal. Kept in .workshop/class/serve.json (mode 0600) so that links handed out stay good
when the server restarts; `scripts/class down` forgets them with the class."""

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from workshop.cli import WorkshopError
from workshop.cluster import classroom
from workshop.paths import write_private


@dataclass(frozen=True)
class Student:
    number: int
    namespace: str
    kubeconfig: Path
    secret: str


@dataclass(frozen=True)
class Links:
    teacher: str
    students: tuple[Student, ...]

    def student(self, secret: str) -> Student | None:
        """The student this secret is for; None for any other string (compared in constant time)."""
        found = None
        for student in self.students:
            if secrets.compare_digest(student.secret.encode(), secret.encode()):
                found = student
        return found

    def is_teacher(self, secret: str) -> bool:
        return secrets.compare_digest(self.teacher.encode(), secret.encode())


def file() -> Path:
    return classroom.class_dir() / classroom.SERVE_FILE


def load() -> Links:
    """The links of the class on record, made for students who have none yet."""
    if not classroom.roster_file().is_file():
        raise WorkshopError("no class to serve: run scripts/class up --students N first")
    roster = json.loads(classroom.roster_file().read_text())
    kept = json.loads(file().read_text()) if file().is_file() else {}
    teacher = kept.get("teacher") or secrets.token_urlsafe(18)
    known = kept.get("students", {})
    students = []
    for entry in roster["students"]:
        secret = known.get(entry["namespace"]) or secrets.token_urlsafe(18)
        known[entry["namespace"]] = secret
        students.append(Student(entry["student"], entry["namespace"], Path(entry["kubeconfig"]), secret))
    if kept != {"teacher": teacher, "students": known}:
        write_private(file(), json.dumps({"teacher": teacher, "students": known}, indent=2) + "\n")
    return Links(teacher, tuple(students))
