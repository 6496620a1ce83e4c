"""The committed log: the journal's records on a durable log other hosts read.

The relay (``server/consumers/relay.py``, run by ``stx serve relay``) appends
every committed record, the journal's own bytes under its own sequence, to
a log; consumers on hosts without the journal read it back through
``server/consumers/sources.py``. This package is the log itself: what one is
(``log.py``), the Redis Streams backend (``redis_log.py``) and the
``[relay]`` settings. Decision 0009 says why it is built this way.
"""
