"""This process's tracer provider: made once at start when a collector is
configured, flushed at exit.

The SDK's batch processor exports from a thread of its own every
``OTEL_BSP_SCHEDULE_DELAY`` ms (5,000 by default) or when 512 spans wait,
so recording a span costs the event loop only the span's creation and a
queue append. The SDK and the exporter (130 ms of imports) are imported
only when tracing is on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from server.tracing.settings import TracingSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer

SERVICE_NAMESPACE = "stocktraderx"

_active: Tracing | None = None


class Tracing:
    """A provider whose spans go to ``exporter``, sampled as ``settings`` say."""

    def __init__(self, settings: TracingSettings, role: str, exporter: SpanExporter) -> None:
        from opentelemetry.sdk.resources import Resource  # noqa: PLC0415 - only when on
        from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415
        from opentelemetry.sdk.trace.sampling import (  # noqa: PLC0415
            ParentBased,
            TraceIdRatioBased,
        )

        resource = Resource.create(
            {
                "service.name": f"stx-{role}",
                "service.namespace": SERVICE_NAMESPACE,
                "service.instance.id": f"{role}-{os.getpid()}",
            }
        )
        self.provider = TracerProvider(
            resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio))
        )
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.role = role

    def tracer(self, name: str) -> Tracer:
        return self.provider.get_tracer(name)

    def shutdown(self) -> None:
        """Export what is still queued, then stop the exporting thread."""
        self.provider.shutdown()


def start_tracing(settings: TracingSettings, role: str) -> Tracing | None:
    """This process's tracing, or None when no collector is configured. The
    endpoint's scheme says whether the exporter uses TLS (``https://``)."""
    global _active
    if not settings.enabled:
        return None
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # noqa: PLC0415
        OTLPSpanExporter,
    )

    exporter = OTLPSpanExporter(
        endpoint=settings.endpoint, insecure=settings.endpoint.startswith("http://")
    )
    _active = Tracing(settings, role, exporter)
    return _active


def active() -> Tracing | None:
    """The tracing ``start_tracing`` made in this process, if any."""
    return _active


def stop_tracing() -> None:
    global _active
    if _active is not None:
        _active.shutdown()
        _active = None
