"""Just enough of a Dockerfile parser to replay deploy/docker/Dockerfile's
steps without Docker (tests/deploy/test_image_layout.py): the stages, their
instructions with continuation lines joined, and .dockerignore's patterns."""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]

    def exec_form(self, keyword: str) -> list[str]:
        """The last ``keyword`` (CMD, ENTRYPOINT) in its JSON exec form."""
        (*_, text) = self.all(keyword)
        words: list[str] = json.loads(text)
        return words

    def environment(self) -> dict[str, str]:
        """ENV as ``KEY=VALUE`` pairs, ``$NAME`` left for the caller."""
        values: dict[str, str] = {}
        for text in self.all("ENV"):
            for pair in shlex.split(text):
                key, value = pair.split("=", 1)
                values[key] = value
        return values


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def parse(path: Path) -> list[Stage]:
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text()):
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(words[0], name))
        elif stages:
            stages[-1].instructions.append((keyword, arguments.strip()))
    return stages


def ignored(patterns: list[str], relative: str) -> bool:
    """Whether .dockerignore's ``patterns`` leave ``relative`` (a path in the
    build context, with / separators) out; a folder excludes what is in it.
    Covers the patterns this repository uses: no ``!`` exceptions."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            tail = pattern[3:]
            if any(fnmatch.fnmatchcase(part, tail) for part in parts):
                return True
        elif any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
            return True
    return False


def dockerignore(path: Path) -> list[str]:
    return [
        line.strip().rstrip("/")
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
