"""Logging for every process: one setup, two formats, no secrets.

``setup.configure_logging`` is called once by each process (the supervisor,
each role, ``stx rest``); ``redact`` keeps secrets out; ``relay`` carries the
supervised children's lines into the supervisor's output.
"""

LOG_FORMATS = ("console", "json")
"""``console``: text for a person (the default, ``make run``); ``json``: one
object per line for a log shipper (deployments)."""
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
