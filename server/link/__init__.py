"""The wire between the core and every other process (decision 0002, issue 15).

The core hands out committed command records (the journal's own bytes) over
a Unix socket; each process keeps a replica by re-applying them with the
code recovery uses, and gateways send commands the same way.
"""
