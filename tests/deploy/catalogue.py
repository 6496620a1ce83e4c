"""The metric names that deploy/ may query: the catalogue of issue 18, the
recording rules of deploy/prometheus/rules, and the standard series.

The catalogue is docs/observability.md's table (name | type | ...), the one
list of what the processes export. A histogram `h` is queried as `h_bucket`,
`h_sum` and `h_count`.
"""

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import promql_parser
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY_DOC = ROOT / "docs" / "observability.md"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULE_FILES = sorted((PROMETHEUS_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))

# prometheus_client's process and GC collectors, and Prometheus's own `up`.
STANDARD_PREFIXES = ("process_", "python_gc_")
STANDARD_NAMES = frozenset({"up"})
METRIC_TYPES = frozenset({"counter", "gauge", "histogram"})
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def catalogue_from_markdown(text: str) -> dict[str, str]:
    """Name -> type from the first Markdown table whose header starts
    `name | type` (or `metric | type`).

    Rows of the `standard` type (the collectors, allowed by prefix) and
    ellipses are skipped; a cell may list several names, comma-separated,
    in backticks or not.
    """
    names: dict[str, str] = {}
    in_table = False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 2:
            if in_table:
                break
            continue
        if not in_table:
            in_table = cells[0].lower() in {"name", "metric"} and cells[1].lower() == "type"
            continue
        kind = cells[1].strip("`").lower()
        if set(cells[0]) <= set("-: ") or kind not in METRIC_TYPES:
            continue
        for cell_name in cells[0].split(","):
            name = cell_name.strip().strip("`")
            if _NAME.fullmatch(name):
                names[name] = kind
    if not names:
        raise ValueError("no `| name | type |` table of metrics found")
    return names


def catalogue() -> dict[str, str]:
    """The catalogue's metric names and their types."""
    return catalogue_from_markdown(OBSERVABILITY_DOC.read_text())


def series_names(metrics: dict[str, str]) -> set[str]:
    """The series names the catalogue's metrics appear under in Prometheus."""
    names: set[str] = set()
    for name, kind in metrics.items():
        if kind == "histogram":
            names.update(f"{name}_{suffix}" for suffix in ("bucket", "sum", "count"))
        else:
            names.add(name)
    return names


def rule_groups() -> list[tuple[Path, dict[str, Any]]]:
    """Every rule of deploy/prometheus/rules, with the file it is in."""
    rules: list[tuple[Path, dict[str, Any]]] = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules.extend((path, rule) for rule in group["rules"])
    return rules


def recorded_names() -> set[str]:
    """The names the recording rules write."""
    return {str(rule["record"]) for _, rule in rule_groups() if "record" in rule}


def referenced_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (raises on bad PromQL).

    A selector without a name (`{__name__=~"..."}`) comes back as the empty
    string: nothing can check what it matches.
    """
    found: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.add(node.name or "")

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def unknown_names(names: Iterable[str]) -> set[str]:
    """Those of `names` that are not in the catalogue, a recording rule or standard."""
    known = series_names(catalogue()) | recorded_names() | STANDARD_NAMES
    return {name for name in names if name not in known and not name.startswith(STANDARD_PREFIXES)}
