"""Analytics and reporting: the analytical store fed from the journal
(``follower.py``, ``facts.py``, ``store.py``), the reports over it
(``reports.py``) and their server on ``analytics.sock`` (``serving.py``),
which the gateway's ``AnalyticsService`` calls after its access checks."""
