"""The exchange as processes: one module per role, and their supervisor.

``stx serve ROLE`` runs one role alone (``runner.run_role``); ``stx serve``
runs them all under ``supervise.run_all``. The core (``core.py``) owns the
journal and the engine; every other role follows it over the link
(``server/link``): the gateway (``gateway.py``: gRPC order entry, sign-in,
the store's users), the market-data feed (``feed.py``), the store projector
(``projector.py``), surveillance (``surveillance.py``) and the REST bridge
(``rest.py``, in front of a gateway). This package composes everything; no
other package imports it but ``server.cli`` and ``server.app``.
"""
