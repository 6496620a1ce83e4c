"""Prometheus metrics: each process of ``stx serve`` serves its own ``/metrics``.

The names are the catalogue's (docs/observability.md). Families live in the
default registry of the process that defines them, in small modules by who
records them: ``exposition`` (the endpoint, the buckets, GC pauses), ``core``
(the sequencer's batches and the risk state), ``order_entry`` (gateways and
the REST bridge), ``consumers`` (feed, projector, surveillance) and
``shared`` (series more than one process records).
"""
