"""OpenTelemetry traces of an order across the processes (docs/observability.md, "Traces").

Off unless a collector is configured (``[tracing] endpoint`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``): then no provider exists, no span is made,
and the core's only work per command is one ``is not None`` test.
"""
