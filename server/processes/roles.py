"""The roles ``stx serve ROLE`` runs, in the order the supervisor starts them."""

ROLES = (
    "core", "gateway", "projector", "surveillance", "analytics", "feed", "rest", "fix", "relay",
    "standby",
)  # fmt: skip
"""``fix`` runs under ``stx serve`` only when ``[fix.sessions]`` are configured,
``relay`` only when ``[relay] url`` names a committed log; ``standby`` never
does: it runs alone on another host (``stx serve standby --primary``)."""

LOG_SOURCED = ("projector", "analytics")
"""The roles that can read the committed log instead of the journal files
(``--source``, ``[relay] source``): the ones that can run on another host."""

NICENESS = {"projector": 10, "surveillance": 10, "analytics": 10, "relay": 10}
"""How far a role's process stands back from the order path for the CPU.

On a machine with fewer cores than processes the kernel shares the cores
among them; the projector, surveillance and analytics are behind by design
(write-behind, alerts, reports) and catch up in larger batches when they get the CPU later,
while the core, the gateways and market data are what a client waits for.
Measured with ``stx bench server`` (docs/performance.md)."""
