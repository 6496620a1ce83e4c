"""What ``stx top`` reads: each process's ``/metrics``, and the rates and
latency percentiles between two scrapes.

The clients import nothing of the server, so the roles' metrics ports are
repeated here: ``server/metrics/exposition.py``'s ``OFFSETS`` is the source,
and tests/clients/test_top.py checks that the two tables agree.
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

OFFSETS = {
    "core": 1, "gateway": 2, "projector": 3, "surveillance": 4, "feed": 5, "rest": 6,
    "analytics": 8,
}  # fmt: skip
"""Each role's metrics port is the base (``metrics_port``, 9100) + its offset
(7 is the FIX gateway's, which runs only when configured)."""
DEFAULT_BASE = 9100

_K = TypeVar("_K")
Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]
"""(sample name, sorted labels) -> value, of one process."""


@dataclass(frozen=True)
class Scrape:
    """Every process's samples at one moment; ``None`` for a process that did not answer."""

    at: float
    """``time.monotonic()`` when the scrape began."""
    processes: dict[str, Samples | None] = field(default_factory=dict)


def parse(text: str) -> Samples:
    """The samples of one exposition (Prometheus text format)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def fetch(url: str, timeout: float) -> Samples | None:
    """One process's samples, ``None`` if it is down or answers something else."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return parse(answer.read().decode())
    except (OSError, ValueError, urllib.error.URLError):
        return None


def scrape(host: str, base: int, timeout: float = 1.0) -> Scrape:
    """Every process at once (one thread each, so a hung one costs one timeout)."""
    at = time.monotonic()
    address = _host(host)
    urls = {role: f"http://{address}:{base + offset}/metrics" for role, offset in OFFSETS.items()}
    with ThreadPoolExecutor(len(urls)) as pool:
        answers = {role: pool.submit(fetch, url, timeout) for role, url in urls.items()}
        return Scrape(at, {role: answer.result() for role, answer in answers.items()})


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def total(samples: Samples | None, name: str, **match: str) -> float:
    """The sum of ``name``'s samples whose labels include ``match``."""
    if samples is None:
        return 0.0
    wanted = set(match.items())
    return sum(
        value
        for (sample, labels), value in samples.items()
        if sample == name and wanted <= set(labels)
    )


def by_label(samples: Samples | None, name: str, label: str) -> dict[str, float]:
    """``name``'s samples summed by the value of ``label``."""
    found: dict[str, float] = {}
    for (sample, labels), value in (samples or {}).items():
        if sample == name:
            key = dict(labels).get(label, "")
            found[key] = found.get(key, 0.0) + value
    return found


def unlabelled(samples: Samples | None, name: str) -> float | None:
    """The one unlabelled sample of ``name``; ``None`` when the process is down or lacks it."""
    if samples is None or (name, ()) not in samples:
        return None
    return samples[(name, ())]


def buckets(processes: Iterable[Samples | None], name: str) -> dict[float, float]:
    """The cumulative buckets of histogram ``name`` (``le`` -> count), summed over
    every label set and process, as ``sum by (le)`` does."""
    found: dict[float, float] = {}
    for samples in processes:
        for bound, value in by_label(samples, f"{name}_bucket", "le").items():
            le = float(bound)
            found[le] = found.get(le, 0.0) + value
    return found


def delta(now: dict[_K, float], before: dict[_K, float]) -> dict[_K, float]:
    """Per key, how much ``now`` grew since ``before`` (a restarted counter: all of it)."""
    grown = {}
    for key, value in now.items():
        step = value - before.get(key, 0.0)
        grown[key] = value if step < 0 else step
    return grown


def quantile(q: float, cumulative: dict[float, float]) -> float | None:
    """Prometheus's ``histogram_quantile``: linear interpolation inside the
    bucket the rank falls in; the highest finite bound if it falls in +Inf;
    ``None`` without observations."""
    bounds = sorted(cumulative)
    if not bounds or not math.isinf(bounds[-1]):
        return None
    count = cumulative[bounds[-1]]
    if count <= 0:
        return None
    rank = q * count
    lower, below = 0.0, 0.0
    for bound in bounds:
        seen = cumulative[bound]
        if seen >= rank:
            if math.isinf(bound):
                return lower
            if seen == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (seen - below)
        lower, below = bound, seen
    return lower
