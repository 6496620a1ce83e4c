"""The users' side of the exchange: Python SDKs, the CLI commands for people
and the load-test harness.

Everything here is built on the generated API (``stocktraderx.v1``) alone;
nothing imports the server or the engine.
"""
