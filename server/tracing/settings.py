"""The ``[tracing]`` section of the configuration and the standard ``OTEL_*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any


class TracingConfigError(ValueError):
    """A tracing value cannot be used; the message names the key or variable."""


@dataclass(frozen=True)
class TracingSettings:
    endpoint: str = ""
    """The OTLP/gRPC collector (``http://127.0.0.1:4317``); empty: tracing is off."""
    sample_ratio: float = 1.0
    """The share of traces begun here that are recorded (0 to 1). Parent-based:
    a request that arrives with a ``traceparent`` follows its sampled flag, so
    one order's spans are recorded in every process or in none."""

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint)


_RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")
_FIXED_SAMPLERS = {
    "always_on": 1.0,
    "parentbased_always_on": 1.0,
    "always_off": 0.0,
    "parentbased_always_off": 0.0,
}


def _ratio(value: Any, where: str) -> float:
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise TracingConfigError(f"{where}: expected a number from 0 to 1, got {value!r}") from None
    if isinstance(value, bool) or not 0.0 <= ratio <= 1.0:
        raise TracingConfigError(f"{where}: expected a number from 0 to 1, got {value!r}")
    return ratio


def _endpoint(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise TracingConfigError(f"{where}: expected a URL, got {value!r}")
    if value and not value.startswith(("http://", "https://")):
        raise TracingConfigError(
            f"{where}: {value!r} is not an http:// or https:// URL (OTLP over gRPC)"
        )
    return value


def parse_tracing(table: Mapping[str, Any]) -> TracingSettings:
    unknown = set(table) - {"endpoint", "sample_ratio"}
    if unknown:
        raise TracingConfigError(f"tracing: unknown keys {sorted(unknown)}")
    return TracingSettings(
        endpoint=_endpoint(table.get("endpoint", ""), "tracing.endpoint"),
        sample_ratio=_ratio(table.get("sample_ratio", 1.0), "tracing.sample_ratio"),
    )


def tracing_from_environ(settings: TracingSettings, environ: Mapping[str, str]) -> TracingSettings:
    """The OpenTelemetry SDK's own variables over the file: the traces
    endpoint (or the general one), the sampler and its ratio, and
    ``OTEL_SDK_DISABLED``. Every sampler is parent-based here (a plain
    ``traceidratio`` is taken as ``parentbased_traceidratio``): a process
    that re-drew the dice would cut an order's trace in two."""
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        if environ.get(name):
            settings = replace(settings, endpoint=_endpoint(environ[name], name))
            break
    sampler = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    if sampler in _FIXED_SAMPLERS:
        settings = replace(settings, sample_ratio=_FIXED_SAMPLERS[sampler])
    elif sampler in _RATIO_SAMPLERS:
        argument = environ.get("OTEL_TRACES_SAMPLER_ARG", "1.0")
        settings = replace(settings, sample_ratio=_ratio(argument, "OTEL_TRACES_SAMPLER_ARG"))
    elif sampler:
        raise TracingConfigError(
            f"OTEL_TRACES_SAMPLER: {sampler!r} is not one of "
            f"{', '.join((*_FIXED_SAMPLERS, *_RATIO_SAMPLERS))}"
        )
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        settings = replace(settings, endpoint="")
    return settings
